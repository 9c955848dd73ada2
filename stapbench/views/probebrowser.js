// The probe browser: filter as you type over the whole listing (ranked like
// stapbench/authoring/ranking.py), a row's source on selection, and a button that inserts the
// ready probe cell below (stapbench's JupyterLab extension handles the event; without it the
// cell text is selected for copying).
const MAX_ROWS = 200;

// a query holding * or ? is a glob, as in stap's probe points (ngx_http_*request): whole names
function globRegExp(q) {
  const body = q.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp("^" + body + "$");
}

function closeness(q, name, glob) {
  if (!q) return 0;
  const n = name.toLowerCase();
  if (glob) return glob.test(n) ? 0 : null;
  if (n.startsWith(q)) return 0;
  const at = n.indexOf(q);
  if (at > 0 && !/[a-z0-9]/.test(n[at - 1])) return 1;
  if (at > 0) return 2;
  let i = 0;
  for (const c of n) { if (c === q[i]) i++; if (i === q.length) return 3; }
  return null;
}

export function rank(entries, query) {
  const q = query.trim().toLowerCase();
  const glob = /[*?]/.test(q) ? globRegExp(q) : null;
  const scored = [];
  for (let i = 0; i < entries.length; i++) {
    const s = closeness(q, entries[i][2], glob);
    if (s !== null) scored.push([s, entries[i][2].length, entries[i][2], i]);
  }
  scored.sort((a, b) => a[0] - b[0] || a[1] - b[1] || (a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : a[3] - b[3]));
  return scored.map((s) => s[3]);
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function render({ model, el: root }) {
  root.classList.add("stapbench-probebrowser");
  const head = el("div", "sbp-head");
  for (const b of model.get("binaries")) head.appendChild(el("code", "sbp-binary", b));
  const problems = el("div", "sbp-problems");
  for (const p of model.get("problems")) problems.appendChild(el("div", null, p));
  const search = el("input", "sbp-search");
  search.type = "search";
  search.placeholder = "search functions and markers\u2026";
  search.value = model.get("query");
  const count = el("div", "sbp-count");
  const table = el("table", "sbp-table");
  const tbody = el("tbody");
  table.appendChild(tbody);
  const list = el("div", "sbp-list");
  list.appendChild(table);
  const detail = el("div", "sbp-detail");
  root.append(head, problems, search, count, list, detail);

  const entries = model.get("entries");
  const several = model.get("binaries").length > 1;
  const binaries = model.get("binaries").map((b) => b.split("/").pop());

  function show() {
    const order = rank(entries, search.value);
    count.textContent = `${order.length} of ${entries.length} probe points` +
      (order.length > MAX_ROWS ? ` (the closest ${MAX_ROWS} shown)` : "");
    const rows = document.createDocumentFragment();
    for (const i of order.slice(0, MAX_ROWS)) {
      const [bin, kind, name, where, params] = entries[i];
      const tr = el("tr", "sbp-row" + (i === model.get("selected") ? " sbp-selected" : ""));
      tr.dataset.index = String(i);
      const fn = el("td", "sbp-name");
      fn.appendChild(el("code", null, kind === "mark" ? `mark("${name}")` : name));
      if (several) fn.appendChild(el("span", "sbp-lib", binaries[bin]));
      tr.append(fn, el("td", "sbp-where", where), el("td", "sbp-params", params));
      rows.appendChild(tr);
    }
    tbody.replaceChildren(rows);
  }

  function showDetail() {
    const d = model.get("detail");
    detail.replaceChildren();
    if (!d || d.index === undefined) return;
    detail.appendChild(el("div", "sbp-title", d.title));
    if (d.source_html) {
      const src = el("div", "sbp-source");
      src.innerHTML = d.source_html; // built and escaped by the kernel (views/source.py)
      detail.appendChild(src);
    }
    const cell = el("pre", "sbp-cell");
    cell.innerHTML = d.cell_html; // highlighted and escaped by the kernel (authoring.highlight)
    const insert = el("button", "sbp-insert", "Insert probe cell below");
    const note = el("div", "sbp-note");
    insert.addEventListener("click", () => {
      const event = new CustomEvent("stapbench-insert-cell", { bubbles: true, cancelable: true, detail: { source: d.cell } });
      root.dispatchEvent(event);
      if (event.defaultPrevented) {
        note.textContent = "inserted below";
      } else {
        note.textContent = "copy the cell above (stapbench's JupyterLab extension inserts it where it runs)";
        const range = document.createRange();
        range.selectNodeContents(cell);
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
      }
    });
    detail.append(cell, insert, note);
  }

  let pending = null;
  search.addEventListener("input", () => {
    show();
    clearTimeout(pending);
    pending = setTimeout(() => { model.set("query", search.value); model.save_changes(); }, 300);
  });
  tbody.addEventListener("click", (e) => {
    const tr = e.target.closest("tr.sbp-row");
    if (!tr) return;
    for (const r of tbody.querySelectorAll(".sbp-selected")) r.classList.remove("sbp-selected");
    tr.classList.add("sbp-selected");
    model.set("selected", Number(tr.dataset.index));
    model.save_changes();
  });
  model.on("change:detail", showDetail);
  show();
  showDetail();
}

export default { render };
