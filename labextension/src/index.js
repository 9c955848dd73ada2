// stapbench's JupyterLab extension: SystemTap is a language of the editor (.stp files), a
// notebook cell whose first line is `%%stap ...` is edited as SystemTap instead of Python, and a
// stapbench widget can insert a cell below its own (the probe browser's ready probe).
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

// A stapbench widget (the probe browser's "insert probe cell") asks for a new cell below the
// cell whose output holds it: a DOM event bubbling from the widget, answered here, where the
// notebook is reachable (widgets have no handle on it).
function onInsertCell(tracker, event) {
  const source = event.detail && event.detail.source;
  if (typeof source !== 'string') return;
  let handled = false;
  tracker.forEach((panel) => {
    if (handled || !panel.node.contains(event.target)) return;
    const notebook = panel.content;
    const index = notebook.widgets.findIndex((cell) => cell.node.contains(event.target));
    if (index < 0 || !notebook.model) return;
    notebook.model.sharedModel.insertCell(index + 1, { cell_type: 'code', source });
    notebook.activeCellIndex = index + 1;
    handled = true;
  });
  if (handled) event.preventDefault();
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
  },
};

export default plugin;
