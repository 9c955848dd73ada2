// stapbench flame graph: a plain ES module for anywidget (no build step), also booted
// by the standalone page `stapbench flame -o OUT.html` writes (views/flame.py).
//
// The Python side (answers/flame.py) sends the layout: nodes in depth-first order with
// their name (an index into `names`), count and depth; frames too narrow to see are
// already merged there.  This module rebuilds x positions in one pass, draws the nodes
// of the zoomed subtree that are at least half a pixel wide (so the DOM stays bounded
// whatever the input), and handles zoom (click), search (substring, case-insensitive),
// hover (name, count, share), the orientation and the exports (SVG, folded text).
// Every string goes in through textContent, dataset, title or the SVG escaper: no
// string from stap output is ever parsed as HTML.
//
// Stable hooks for tests: .stapbench-flame-frame[data-node][data-name], .stapbench-flame-match,
// .stapbench-flame-search, .stapbench-flame-reset, .stapbench-flame-orient,
// .stapbench-flame-export-svg, .stapbench-flame-export-folded, .stapbench-flame-status,
// .stapbench-flame-info; the root element's data-zoom.

const ROW = 18;
const MIN_WIDTH = 0.5; // px: narrower frames (and their subtrees) are not drawn

// (the same small helper as eventlog.js: an anywidget module is one file, it cannot import a sibling)
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// FNV-1a over UTF-16 code units: the same colour for a name in every view (flame.py too)
export function frameColor(name, merged) {
  if (merged) return "rgb(200,200,200)";
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `rgb(${205 + (h % 50)},${(h >>> 8) % 230},${(h >>> 16) % 55})`;
}

function geometry(data) {
  const n = data.name.length;
  const x = new Float64Array(n);
  const parent = new Int32Array(n);
  const end = new Int32Array(n);
  const next = new Float64Array(data.max_depth + 2);
  const last = new Int32Array(data.max_depth + 2);
  const open = [];
  for (let i = 0; i < n; i++) {
    const d = data.depth[i];
    x[i] = next[d];
    next[d] += data.value[i];
    next[d + 1] = x[i];
    parent[i] = d > 0 ? last[d - 1] : -1;
    last[d] = i;
    while (open.length && data.depth[open[open.length - 1]] >= d) end[open.pop()] = i;
    open.push(i);
  }
  while (open.length) end[open.pop()] = n;
  return { n, x, parent, end };
}

function escapeXml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function share(value, total) {
  return total > 0 ? ((100 * value) / total).toFixed(2) : "0.00";
}

function download(text, type, filename) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function render({ model, el: root }) {
  const box = el("div", "stapbench stapbench-flame");
  const bar = el("div", "stapbench-flame-bar");
  const search = el("input", "stapbench-flame-search");
  search.type = "search";
  search.placeholder = "search frames";
  search.value = model.get("search") || "";
  const reset = el("button", "stapbench-flame-reset", "reset zoom");
  const orient = el("button", "stapbench-flame-orient");
  const svgButton = el("button", "stapbench-flame-export-svg", "SVG");
  const foldedButton = el("button", "stapbench-flame-export-folded", "folded");
  const status = el("span", "stapbench-flame-status");
  bar.append(search, reset, orient, svgButton, foldedButton, status);
  const heading = el("div", "stapbench-flame-title");
  const chart = el("div", "stapbench-flame-chart");
  const info = el("div", "stapbench-flame-info", "\u00a0");
  box.append(heading, bar, chart, info);
  root.appendChild(box);

  let data = null;
  let geo = null;
  let names = [];

  function load() {
    data = model.get("data");
    geo = geometry(data);
    names = data.names;
  }

  function label(i) {
    return names[data.name[i]];
  }

  function describe(i) {
    const merged = data.merged[i];
    const what = merged ? `${merged} frames merged (each too narrow to draw)` : label(i);
    return `${what} \u2014 ${data.value[i]} samples, ${share(data.value[i], data.total)}% of all`;
  }

  function zoomed() {
    const z = model.get("zoom") | 0;
    return z >= 0 && z < geo.n ? z : 0;
  }

  function matches(needle) {
    // nodes whose name contains needle, and the share of the samples under the topmost ones
    const hit = new Uint8Array(geo.n);
    if (!needle) return { hit, value: 0, count: 0 };
    const wanted = new Uint8Array(names.length);
    for (let k = 0; k < names.length; k++) wanted[k] = names[k].toLowerCase().includes(needle) ? 1 : 0;
    let value = 0, count = 0, coveredTo = -1;
    for (let i = 0; i < geo.n; i++) {
      if (!wanted[data.name[i]] || data.merged[i]) continue;
      hit[i] = 1;
      count++;
      if (i >= coveredTo) {
        value += data.value[i];
        coveredTo = geo.end[i];
      }
    }
    return { hit, value, count };
  }

  // the frames to draw for the current zoom: [node, left px, width px, row]
  function visible(width) {
    const z = zoomed();
    const x0 = geo.x[z];
    const scale = width / Math.max(data.value[z], 1);
    const out = [];
    for (let a = geo.parent[z]; a >= 0; a = geo.parent[a]) out.push([a, 0, width, data.depth[a]]);
    for (let i = z; i < geo.end[z]; i++) {
      const w = data.value[i] * scale;
      if (w < MIN_WIDTH) {
        i = geo.end[i] - 1; // skip the subtree: all of it is narrower still
        continue;
      }
      out.push([i, (geo.x[i] - x0) * scale, w, data.depth[i]]);
    }
    return out;
  }

  function rowTop(row) {
    return model.get("orientation") === "flame" ? (data.max_depth - row) * ROW : row * ROW;
  }

  function draw() {
    const width = chart.clientWidth || 1000;
    const z = zoomed();
    const needle = (model.get("search") || "").trim().toLowerCase();
    const found = matches(needle);
    chart.style.height = `${(data.max_depth + 1) * ROW}px`;
    const frag = document.createDocumentFragment();
    for (const [i, left, w, row] of visible(width)) {
      const merged = data.merged[i] > 0;
      const node = el("div", "stapbench-flame-frame");
      node.dataset.node = String(i);
      node.dataset.name = label(i);
      if (merged) node.classList.add("stapbench-flame-merged");
      if (i === z) node.classList.add("stapbench-flame-zoomed");
      else if (data.depth[i] < data.depth[z]) node.classList.add("stapbench-flame-ancestor");
      if (needle) node.classList.add(found.hit[i] ? "stapbench-flame-match" : "stapbench-flame-dim");
      node.style.left = `${left}px`;
      node.style.width = `${Math.max(w - 1, 0.5)}px`;
      node.style.top = `${rowTop(row)}px`;
      node.style.background = found.hit[i] ? "rgb(230,0,230)" : frameColor(label(i), merged);
      node.title = describe(i);
      if (w > 24) node.textContent = label(i);
      frag.appendChild(node);
    }
    chart.replaceChildren(frag);
    box.dataset.zoom = String(z);
    orient.textContent = model.get("orientation") === "flame" ? "icicle" : "flame";
    reset.disabled = z === 0;
    let text = `${data.total} samples, ${geo.n} nodes`;
    if (z !== 0) text += ` \u00b7 zoomed on ${label(z)} (${share(data.value[z], data.total)}%)`;
    if (needle) text += ` \u00b7 ${found.count} frames match, ${share(found.value, data.total)}% of samples`;
    status.textContent = text;
    heading.textContent = model.get("title") || "";
  }

  function frameOf(event) {
    const node = event.target.closest(".stapbench-flame-frame");
    return node && chart.contains(node) ? Number(node.dataset.node) : -1;
  }

  chart.addEventListener("click", (event) => {
    const i = frameOf(event);
    if (i < 0) return;
    model.set("zoom", i);
    model.save_changes();
  });
  chart.addEventListener("mouseover", (event) => {
    const i = frameOf(event);
    if (i >= 0) info.textContent = describe(i);
  });
  reset.addEventListener("click", () => {
    model.set("zoom", 0);
    model.save_changes();
  });
  orient.addEventListener("click", () => {
    model.set("orientation", model.get("orientation") === "flame" ? "icicle" : "flame");
    model.save_changes();
  });
  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      model.set("search", search.value);
      model.save_changes();
    }, 120);
  });

  svgButton.addEventListener("click", () => download(toSvg(), "image/svg+xml", "flame.svg"));
  foldedButton.addEventListener("click", () => download(toFolded(), "text/plain", "flame.folded.txt"));

  function toSvg() {
    const width = chart.clientWidth || 1200;
    const height = (data.max_depth + 1) * ROW;
    const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="monospace" font-size="12">`];
    for (const [i, left, w, row] of visible(width)) {
      const name = escapeXml(label(i));
      const y = rowTop(row);
      parts.push(`<g><title>${escapeXml(describe(i))}</title><rect x="${left.toFixed(1)}" y="${y}" width="${Math.max(w - 1, 0.5).toFixed(1)}" height="${ROW - 1}" fill="${frameColor(label(i), data.merged[i] > 0)}"/>`);
      const chars = Math.floor((w - 6) / 7);
      if (chars >= 3) {
        const text = label(i).length > chars ? label(i).slice(0, chars - 2) + ".." : label(i);
        parts.push(`<text x="${(left + 3).toFixed(1)}" y="${y + ROW - 5}">${escapeXml(text)}</text>`);
      }
      parts.push("</g>");
    }
    parts.push("</svg>\n");
    return parts.join("");
  }

  function toFolded() {
    // each node's own samples (its count minus its children's), by its path from the root
    const path = [];
    const own = Float64Array.from(data.value);
    for (let i = 1; i < geo.n; i++) own[geo.parent[i]] -= data.value[i];
    const lines = [];
    for (let i = 0; i < geo.n; i++) {
      path[data.depth[i]] = label(i);
      if (i > 0 && own[i] > 0) lines.push(`${path.slice(1, data.depth[i] + 1).join(";")} ${own[i]}`);
    }
    return lines.sort().join("\n") + "\n";
  }

  load();
  draw();
  model.on("change:data", () => { load(); draw(); });
  for (const name of ["zoom", "search", "orientation", "title"]) model.on(`change:${name}`, draw);
  const observer = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(() => draw());
  if (observer) observer.observe(chart);
  return () => {
    clearTimeout(timer);
    if (observer) observer.disconnect();
  };
}

export default { render };
