// A diagnostic's fixes: the first few as buttons, the rest behind "more". A click asks
// stapbench's JupyterLab extension (a DOM event) to put the fixed script in this cell under its
// %%stap line; without the extension the fixed script is shown to copy.
function render({ model, el }) {
  el.classList.add("stapbench-fixbar");
  const label = document.createElement("span");
  label.className = "sbf-label";
  label.textContent = "fix:";
  const buttons = document.createElement("span");
  const more = document.createElement("button");
  more.className = "sbf-more";
  const note = document.createElement("div");
  note.className = "sbf-note";
  const copy = document.createElement("pre");
  copy.className = "sbf-script";
  copy.hidden = true;
  el.append(label, buttons, more, note, copy);
  let expanded = false;

  function apply(i, fix) {
    model.set("chosen", i);
    model.save_changes();
    const event = new CustomEvent("stapbench-replace-cell", { bubbles: true, cancelable: true, detail: { script: fix.script } });
    el.dispatchEvent(event);
    if (event.defaultPrevented) {
      note.textContent = `applied: ${fix.title} (run the cell again)`;
      copy.hidden = true;
    } else {
      // no extension answered (another front end): the kernel-side way is %stap_fix, whose
      // set_next_input puts the fixed cell below, %%stap line kept
      note.textContent = "the fixed script, to copy (or run %stap_fix in a cell: it lists these fixes, and %stap_fix N puts one below as a new cell):";
      copy.innerHTML = fix.html; // highlighted and escaped by the kernel (authoring.highlight)
      copy.hidden = false;
    }
  }

  function show() {
    const fixes = model.get("fixes");
    const n = expanded ? fixes.length : Math.min(model.get("shown"), fixes.length);
    buttons.replaceChildren();
    fixes.slice(0, n).forEach((fix, i) => {
      const b = document.createElement("button");
      b.className = "sbf-fix";
      b.textContent = fix.title;
      b.title = fix.script;
      b.addEventListener("click", () => apply(i, fix));
      buttons.appendChild(b);
    });
    const rest = fixes.length - n;
    more.hidden = rest <= 0 && !expanded;
    more.textContent = expanded ? "fewer" : `more (${rest})`;
  }
  more.addEventListener("click", () => { expanded = !expanded; show(); });
  model.on("change:fixes", show);
  show();
}

export default { render };
