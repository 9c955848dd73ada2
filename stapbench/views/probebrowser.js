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
    const [cell, insert, note] = cellWithInsert(d.cell, d.cell_html, "Insert probe cell below", "sbp");
    detail.append(cell, insert, note);
    for (const s of d.structs || []) detail.appendChild(structBrowser(d.index, s));
  }

  // a cell to insert below: its highlighted text, the button, and what the click did
  function cellWithInsert(source, html, label, prefix) {
    const cell = el("pre", prefix + "-cell");
    cell.innerHTML = html; // highlighted and escaped by the kernel (authoring.highlight)
    const insert = el("button", prefix + "-insert", label);
    const note = el("div", prefix + "-note");
    insert.addEventListener("click", () => {
      const event = new CustomEvent("stapbench-insert-cell", { bubbles: true, cancelable: true, detail: { source } });
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
    return [cell, insert, note];
  }

  // the struct browser: a pointer parameter's members to any depth (by-value structs opened,
  // pointers to structs followed one hop), each printable one with a checkbox; the kernel
  // writes the printer cell for the checked ones (authoring.printer, right on BPF)
  function structBrowser(index, s) {
    const box = el("details", "sbp-struct");
    box.dataset.param = s.param;
    box.appendChild(el("summary", null, `${s.param}: ${s.type} \u2014 ${s.members.length} members; check the ones to print`));
    const filter = el("input", "sbp-member-filter");
    filter.type = "search";
    filter.placeholder = "filter members\u2026";
    const list = el("div", "sbp-members");
    const printer = el("div", "sbp-printer");
    for (const m of s.members) {
      const row = el("label", "sbp-member" + (m.group ? " sbp-group" : ""));
      row.style.paddingLeft = `${m.depth * 16}px`;
      const check = el("input");
      check.type = "checkbox";
      check.value = m.path;
      check.disabled = !m.printable;
      if (!m.printable) row.title = m.group ? "a struct held by value: check its members" : "not printable on BPF (a string, an array, a float)";
      row.append(check, el("code", "sbp-member-name", m.name), el("span", "sbp-member-type", m.type));
      list.appendChild(row);
    }
    filter.addEventListener("input", () => {  // by path: "log" keeps log and what it points to
      const q = filter.value.trim().toLowerCase();
      const paths = s.members.map((m) => m.path);
      const shown = new Set();
      for (const path of paths) {
        if (q !== "" && !path.toLowerCase().includes(q)) continue;
        shown.add(path);
        // a match keeps the rows it sits under, so listening->sockaddr reads as that, not sockaddr
        const parts = path.split("->");
        for (let i = 1; i < parts.length; i++) shown.add(parts.slice(0, i).join("->"));
      }
      // style, not the hidden attribute: the rows' display: flex would override it
      [...list.children].forEach((row, i) => { row.style.display = shown.has(paths[i]) ? "" : "none"; });
    });
    list.addEventListener("change", () => {
      const paths = [...list.querySelectorAll("input:checked")].map((c) => c.value);
      model.set("printer_request", { index, param: s.param, paths });
      model.save_changes();
    });
    function showPrinter() {
      const p = model.get("printer");
      printer.replaceChildren();
      if (!p || p.index !== index || p.param !== s.param) return;
      printer.append(...cellWithInsert(p.cell, p.html, "Insert printer cell below", "sbp-printer"));
    }
    model.on("change:printer", showPrinter);
    box.append(filter, list, printer);
    return box;
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
