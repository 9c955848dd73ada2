// SystemTap for CodeMirror 6: a stream tokenizer with the same token kinds as stapbench's
// Pygments lexer (stapbench/authoring/lexer.py), which follows stap's own lexer (parse.cxx).
// Every token carries a stap-specific tag (derived from a standard one, so JupyterLab's
// theme colours it) and a `cm-stap-<kind>` class, so a %%stap cell shows it is read as stap.
import { LanguageSupport, StreamLanguage, syntaxHighlighting } from '@codemirror/language';
import { Tag, tagHighlighter, tags } from '@lezer/highlight';

const KEYWORDS = new Set(['probe', 'global', 'private', 'function', 'if', 'else', 'for', 'foreach',
  'in', 'limit', 'return', 'delete', 'while', 'break', 'continue', 'next', 'try', 'catch']);
const TYPES = new Set(['string', 'long']);
const AT_OPERATORS = new Set(['cast', 'defined', 'probewrite', 'entry', 'perf', 'var', 'const',
  'kregister', 'uregister', 'kderef', 'uderef', 'enum', 'enumname', 'avg', 'count', 'sum', 'min',
  'max', 'hist_linear', 'hist_log', 'variance']);
const PREPROCESSOR_NAMES = new Set(['kernel_v', 'kernel_vr', 'arch', 'runtime', 'systemtap_v',
  'systemtap_privilege', 'guru_mode', 'compatible']);
const MULTI_OPS = /^(?:<<<|>>>|<<=|>>=|==|!=|<=|>=|=~|!~|\+=|-=|\*=|\/=|%=|&=|\^=|\|=|\.=|&&|\|\||\+\+|--|->|<<|>>)/;
const FORMAT = /^%[-+ #0]*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|h|ll|l|L|j|z|t)?[diouxXcspbmM]/;

// kind (what the tokenizer returns) -> the standard tag that colours it
const KINDS = {
  magic: tags.processingInstruction,
  keyword: tags.keyword,
  type: tags.typeName,
  probe: tags.labelName,
  function: tags.function(tags.definition(tags.variableName)),
  context: tags.special(tags.variableName),
  pseudo: tags.special(tags.variableName),
  argument: tags.special(tags.variableName),
  atoperator: tags.standard(tags.variableName),
  macro: tags.macroName,
  preprocessor: tags.processingInstruction,
  ppname: tags.constant(tags.variableName),
  embedded: tags.meta,
  comment: tags.comment,
  string: tags.string,
  escape: tags.escape,
  format: tags.special(tags.string),
  number: tags.number,
  operator: tags.operator,
  punctuation: tags.punctuation,
  name: tags.variableName,
  error: tags.invalid,
};
// A token gets both: the standard tag (JupyterLab's theme colours it) and a stap tag of its own
// kind (for the class); a tag cannot derive from a modified one like tags.special(...).
export const stapTags = {};
const tokenTable = {};
for (const [kind, standard] of Object.entries(KINDS)) {
  stapTags[kind] = Tag.define();
  tokenTable[kind] = [standard, stapTags[kind]];
}
export const stapClassHighlighter = tagHighlighter(
  Object.entries(stapTags).map(([kind, tag]) => ({ tag, class: `cm-stap-${kind}` })));

function startState() {
  return { block: null, inString: false, probe: false, probeDepth: 0, condition: false, afterFunction: false, lineNo: 0 };
}

function copyState(s) {
  return { ...s };
}

// Inside `/* ... */` or `%{ ... %}` (both may span lines).
function continueBlock(stream, state) {
  const end = state.block === 'comment' ? '*/' : '%}';
  const kind = state.block === 'comment' ? 'comment' : 'embedded';
  const rest = stream.string.slice(stream.pos);
  const at = rest.indexOf(end);
  if (at < 0) {
    stream.skipToEnd();
  } else {
    stream.pos += at + 2;
    state.block = null;
  }
  return kind;
}

// After the opening quote: a printf directive is a token of its own; a string ends at its
// quote or, unclosed (stap's junk), at the line's end.
function continueString(stream, state) {
  if (stream.match(/^%%/) || stream.match(FORMAT)) return 'format';
  while (!stream.eol()) {
    if (stream.match(FORMAT, false) || stream.match(/^%%/, false)) return 'string';
    if (stream.match(/^\\./)) continue;
    if (stream.next() === '"') { state.inString = false; return 'string'; }
  }
  state.inString = false;
  return 'error';
}

function token(stream, state) {
  if (state.block) return continueBlock(stream, state);
  if (stream.eatSpace()) return null;
  if (stream.match(/^[$@](?:[0-9]+|#)/)) return 'argument';
  const ch = stream.peek();
  if (ch === '#' || stream.match(/^\/\//, false)) { stream.skipToEnd(); return 'comment'; }
  if (stream.match('/*')) { state.block = 'comment'; return continueBlock(stream, state); }
  if (stream.match('%{')) { state.block = 'embedded'; return continueBlock(stream, state); }
  if (stream.match('%(')) { state.condition = true; return 'preprocessor'; }
  if (stream.match(/^%[?:)]/)) {
    if (stream.current() !== '%:') state.condition = false;
    return 'preprocessor';
  }
  if (ch === '"') { stream.next(); state.inString = true; return continueString(stream, state); }
  if (stream.match(/^[0-9][A-Za-z0-9]*/)) return 'number';
  if (stream.match(/^\$\$[\w$]*/)) return 'pseudo';
  if (stream.match(/^\$[\w$]*/)) return 'context';
  if (stream.match(/^@define\b/)) return 'keyword';
  if (stream.match(/^@[\w$]*/)) return AT_OPERATORS.has(stream.current().slice(1)) ? 'atoperator' : 'macro';
  if (state.probe) {
    if (stream.match(/^if\b/)) { state.probe = false; return 'keyword'; }
    if (stream.match(/^[A-Za-z_*][\w$*]*/)) return state.probeDepth ? 'name' : 'probe';
    if (stream.match('{')) { state.probe = false; state.probeDepth = 0; return 'punctuation'; }
    if (stream.match('(')) { state.probeDepth += 1; return 'punctuation'; }
    if (stream.match(')')) { state.probeDepth = Math.max(0, state.probeDepth - 1); return 'punctuation'; }
  }
  if (stream.match(/^[A-Za-z_][\w$]*/)) {
    const word = stream.current();
    if (state.condition && (PREPROCESSOR_NAMES.has(word) || word.startsWith('CONFIG_'))) return 'ppname';
    if (word === 'probe') { state.probe = true; state.probeDepth = 0; return 'keyword'; }
    if (word === 'function') { state.afterFunction = true; return 'keyword'; }
    if (state.afterFunction) { state.afterFunction = false; return 'function'; }
    if (KEYWORDS.has(word)) return 'keyword';
    if (TYPES.has(word)) return 'type';
    return 'name';
  }
  if (stream.match(MULTI_OPS)) return 'operator';
  if (stream.match(/^[{}()[\],;]/)) return 'punctuation';
  if (stream.match(/^[!-/:-@[-`{-~]/)) return 'operator';
  stream.next();
  return 'error';
}

function tokenWithStrings(stream, state) {
  if (stream.sol()) {
    state.lineNo += 1;
    // the cell magic's own line: `%%stap -x 123 ...` is options, not script
    if (state.lineNo === 1 && stream.match(/^%%stap\b.*/)) return 'magic';
  }
  return state.inString ? continueString(stream, state) : token(stream, state);
}

export const stapLanguage = StreamLanguage.define({
  name: 'systemtap',
  startState,
  copyState,
  token: tokenWithStrings,
  blankLine: (state) => { state.lineNo += 1; },
  tokenTable,
  languageData: { commentTokens: { line: '#', block: { open: '/*', close: '*/' } } },
});

export function systemtap() {
  return new LanguageSupport(stapLanguage, [syntaxHighlighting(stapClassHighlighter)]);
}
