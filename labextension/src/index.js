// stapbench's JupyterLab extension: SystemTap is a language of the editor (.stp files), a
// notebook cell whose first line is `%%stap ...` is edited as SystemTap instead of Python, and a
// stapbench widget can insert a cell below its own (the probe browser's ready probe) or rewrite
// its own cell's script (a diagnostic's fix).
//
// A cell's language follows its model's mimeType; the notebook sets every code cell's mimeType
// from the kernel's language, so each cell is watched: its source (a cell becomes, or stops
// being, a %%stap cell) and its mimeType (the notebook resetting it after a kernel change).
import { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { INotebookTracker } from '@jupyterlab/notebook';
import { systemtap } from './stap';

export const STAP_MIME = 'text/x-systemtap';
const STAP_CELL = /^%%stap\b/;

function isStapCell(model) {
  return model.type === 'code' && STAP_CELL.test(model.sharedModel.getSource());
}

function watchNotebook(panel) {
  const notebook = panel.content;
  const watched = new WeakSet();
  const apply = (model) => {
    if (model.type !== 'code') return;
    if (isStapCell(model)) {
      if (model.mimeType !== STAP_MIME) model.mimeType = STAP_MIME;
    } else if (model.mimeType === STAP_MIME) {
      model.mimeType = notebook.codeMimetype;
    }
  };
  const watch = (model) => {
    if (watched.has(model)) return;
    watched.add(model);
    model.sharedModel.changed.connect(() => apply(model));
    model.mimeTypeChanged.connect(() => apply(model));
    apply(model);
  };
  const watchAll = () => {
    const cells = notebook.model ? notebook.model.cells : null;
    if (!cells) return;
    for (let i = 0; i < cells.length; i++) watch(cells.get(i));
  };
  const connectModel = () => {
    if (notebook.model) notebook.model.cells.changed.connect(watchAll);
    watchAll();
  };
  notebook.modelChanged.connect(connectModel);
  connectModel();
  panel.context.ready.then(watchAll);
}

// The notebook and cell whose output holds a widget's DOM node (widgets have no handle on the
// notebook; their DOM events bubble up to here).
function cellOf(tracker, node) {
  let found = null;
  tracker.forEach((panel) => {
    if (found || !panel.node.contains(node) || !panel.content.model) return;
    const index = panel.content.widgets.findIndex((cell) => cell.node.contains(node));
    if (index >= 0) found = { notebook: panel.content, index, cell: panel.content.widgets[index] };
  });
  return found;
}

// The probe browser's "insert probe cell": a new code cell below the widget's own.
function onInsertCell(tracker, event) {
  const source = event.detail && event.detail.source;
  const at = typeof source === 'string' ? cellOf(tracker, event.target) : null;
  if (!at) return;
  at.notebook.model.sharedModel.insertCell(at.index + 1, { cell_type: 'code', source });
  at.notebook.activeCellIndex = at.index + 1;
  event.preventDefault();
}

// A fix button in a %%stap cell's output: the %%stap line (its options) stays, everything under
// it becomes the fixed script.  Any other cell (a replay, stapbench.run() in Python) does not hold
// the script: left alone, and the widget shows the fixed script instead.
function onReplaceCell(tracker, event) {
  const script = event.detail && event.detail.script;
  const at = typeof script === 'string' ? cellOf(tracker, event.target) : null;
  if (!at || !isStapCell(at.cell.model)) return;
  const firstLine = at.cell.model.sharedModel.getSource().split('\n', 1)[0];
  at.cell.model.sharedModel.setSource(`${firstLine}\n${script}`);
  event.preventDefault();
}

const plugin = {
  id: 'stapbench:systemtap',
  description: 'SystemTap highlighting for .stp files and %%stap cells',
  autoStart: true,
  requires: [IEditorLanguageRegistry, INotebookTracker],
  activate: (app, languages, tracker) => {
    const support = systemtap();
    languages.addLanguage({
      name: 'SystemTap',
      displayName: 'SystemTap',
      alias: ['stap', 'systemtap'],
      mime: STAP_MIME,
      extensions: ['stp'],
      support,
      load: async () => support,
    });
    tracker.forEach(watchNotebook);
    tracker.widgetAdded.connect((_, panel) => watchNotebook(panel));
    document.addEventListener('stapbench-insert-cell', (event) => onInsertCell(tracker, event));
    document.addEventListener('stapbench-replace-cell', (event) => onReplaceCell(tracker, event));
  },
};

export default plugin;
