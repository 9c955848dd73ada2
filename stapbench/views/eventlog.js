// stapbench live event log: a plain ES module for anywidget (no build step).
//
// The Python side (eventlog.py) syncs one page of rows (at most 1,000), the
// counts per probe and the totals; filtering, ordering and paging are done
// there.  This module only builds DOM from that state.  Everything from stap
// output goes in through textContent; no string is ever parsed as HTML.
//
// Stable hooks for browser tests: .stapbench-row[data-group-id][data-key],
// .stapbench-log-filter, .stapbench-log-order, .stapbench-log-older,
// .stapbench-log-newer, .stapbench-log-status, .stapbench-count[data-key],
// .stapbench-row-host[data-host] (several-host runs).

// "1 event", "2 events"
function count(n, word) {
  return `${n} ${n === 1 ? word : word + "s"}`;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function render({ model, el: root }) {
  const box = el("div", "stapbench stapbench-log");
  const bar = el("div", "stapbench-log-bar");
  const filter = el("input", "stapbench-log-filter");
  filter.type = "search";
  filter.placeholder = "filter: text, key:NAME or host:NAME";
  filter.value = model.get("filter_text");
  const order = el("button", "stapbench-log-order");
  // labelled and placed by drawBar: the arrow points where those rows are in the reading order
  const newer = el("button", "stapbench-log-newer");
  const older = el("button", "stapbench-log-older");
  const status = el("span", "stapbench-log-status");
  bar.append(filter, order, newer, older, status);
  const counts = el("div", "stapbench-log-counts");
  const list = el("div", "stapbench-rows");
  box.append(bar, counts, list);
  root.appendChild(box);

  let timer = null;
  filter.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      model.set("filter_text", filter.value);
      model.set("page", 0);
      model.save_changes();
    }, 150);
  });
  order.addEventListener("click", () => {
    model.set("newest_first", !model.get("newest_first"));
    model.save_changes();
  });
  newer.addEventListener("click", () => {
    model.set("page", Math.max(model.get("page") - 1, 0));
    model.save_changes();
  });
  older.addEventListener("click", () => {
    model.set("page", model.get("page") + 1);
    model.save_changes();
  });

  function drawBar() {
    const newestFirst = model.get("newest_first");
    order.textContent = newestFirst ? "newest first" : "newest last";
    // chronological (the default): "\u25c0 older" then "newer \u25b6"; newest first: the other way round
    newer.textContent = newestFirst ? "\u25c0 newer" : "newer \u25b6";
    older.textContent = newestFirst ? "older \u25b6" : "\u25c0 older";
    if (newestFirst) order.after(newer, older);
    else order.after(older, newer);
    const size = model.get("page_size");
    const matched = model.get("matched");
    const page = model.get("page"); // 0: the newest rows, in either order
    const pages = Math.max(Math.ceil(matched / size), 1);
    newer.disabled = page <= 0;
    older.disabled = page >= pages - 1;
    // pages are numbered in the reading order: read chronologically, the newest rows are the last page
    const shown = newestFirst ? page + 1 : pages - Math.min(page, pages - 1);
    const fin = model.get("finished") ? "finished" : "live";
    status.textContent =
      `${fin} \u00b7 ${count(model.get("total_events"), "event")}, ${count(model.get("total_hits"), "hit")} \u00b7 ` +
      `${matched} matching of ${model.get("retained")} kept \u00b7 page ${shown}/${pages}`;
    if (document.activeElement !== filter && filter.value !== model.get("filter_text")) {
      filter.value = model.get("filter_text");
    }
  }

  function drawCounts() {
    counts.replaceChildren();
    const active = model.get("filter_text");
    for (const [key, count] of model.get("counts")) {
      const chip = el("button", "stapbench-chip stapbench-count");
      chip.dataset.key = key;
      chip.dataset.count = String(count);
      chip.append(el("span", "stapbench-count-key", key), el("span", "stapbench-count-n", ` \u00d7 ${count}`));
      if (active === `key:${key}`) chip.classList.add("stapbench-active");
      chip.addEventListener("click", () => {
        model.set("filter_text", active === `key:${key}` ? "" : `key:${key}`);
        model.set("page", 0);
        model.save_changes();
      });
      counts.appendChild(chip);
    }
  }

  // The list's scroll.  Read chronologically (the default) the newest rows are at the bottom:
  // the list keeps to its end while the reader is there (rows arriving, a redraw, the view
  // rendered anew and attached later), and stays put once they scroll up.  A new page or
  // order starts at the newest end (the top, newest first).
  let follow = true;
  let drawn = null;
  const atEnd = () => list.scrollHeight - list.scrollTop - list.clientHeight < 4;
  function keepToEnd() {
    if (follow && !model.get("newest_first")) list.scrollTop = list.scrollHeight;
  }
  list.addEventListener("scroll", () => { follow = atEnd(); });
  const resized = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(keepToEnd);
  if (resized) resized.observe(list);
  function drawRows() {
    const view = `${model.get("page")} ${model.get("newest_first")}`;
    const selected = model.get("selected");
    const rows = model.get("rows");
    const frag = document.createDocumentFragment();
    for (const row of rows) {
      const item = el("div", `stapbench-row stapbench-row-${row.kind}`);
      item.dataset.groupId = String(row.id);
      item.dataset.key = row.key;
      item.dataset.kind = row.kind;
      if (row.id === selected) item.classList.add("stapbench-selected");
      const head = el("div", "stapbench-row-head");
      // when the hit arrived, in seconds into the run (absent for a transcript parsed outside a run)
      if (row.time !== null && row.time !== undefined) head.append(el("span", "stapbench-row-time", `+${row.time.toFixed(3)}s`));
      // a several-host run: the host the hit came from; a click shows that host's hits only
      if (row.host !== null && row.host !== undefined) {
        const host = el("button", "stapbench-chip stapbench-row-host", row.host);
        host.dataset.host = row.host;
        host.title = `show only ${row.host}'s hits (host:${row.host})`;
        host.addEventListener("click", (event) => {
          event.stopPropagation();
          const wanted = `host:${row.host}`;
          model.set("filter_text", model.get("filter_text") === wanted ? "" : wanted);
          model.set("page", 0);
          model.save_changes();
        });
        head.append(host);
      }
      head.append(el("span", "stapbench-row-key", row.key), el("span", "stapbench-row-text", row.text));
      item.appendChild(head);
      for (const part of row.items) {
        const details = el("details", `stapbench-row-item stapbench-item-${part.kind}`);
        details.append(el("summary", null, part.label), el("pre", null, part.text));
        item.appendChild(details);
      }
      head.addEventListener("click", () => {
        model.set("selected", row.id);
        model.save_changes();
      });
      frag.appendChild(item);
    }
    list.replaceChildren(frag);
    if (view !== drawn) {
      follow = true;
      if (model.get("newest_first")) list.scrollTop = 0;
    }
    drawn = view;
    keepToEnd();
  }

  function drawAll() {
    drawBar();
    drawCounts();
    drawRows();
  }
  drawAll();
  model.on("change:rows", drawRows);
  model.on("change:selected", drawRows);
  model.on("change:counts", drawCounts);
  model.on("change:filter_text", drawCounts);
  for (const name of ["matched", "page", "page_size", "newest_first", "total_events", "total_hits", "retained", "finished", "filter_text"]) {
    model.on(`change:${name}`, drawBar);
  }
  return () => {
    clearTimeout(timer);
    if (resized) resized.disconnect();
  };
}

export default { render };
