// Reads V8's code names (the `name` of a CODE record), e.g. `JS:~load /app/x.js:10:3`,
// `LazyCompile:*foo file:///a.mjs:3:1`, `Builtin:ArrayMap`, `Stub:CEntry`, into a function name
// and, for JavaScript, the location V8 appended. And tells node's own scripts from the program's.
import { FrameKind } from '../../../viewer/model/types.js';

/** Code name prefixes whose code is a JavaScript function (everything else is V8's own code). */
const JAVASCRIPT_PREFIXES = new Set(['JS', 'LazyCompile', 'Function', 'Script', 'Eval', 'InterpretedFunction']);

/** V8 marks the tier after the colon: ~ interpreted/lazy, * optimized, ^ baseline, + maglev. */
const TIER_MARKS = '~*^+';

export interface ParsedCodeName {
  isJavaScript: boolean;
  /** JavaScript that TurboFan optimized (tier mark `*`): functions may be inlined into it. */
  optimized: boolean;
  functionName: string;
  /** The `file:line:column` V8 appended to a JavaScript name, when present. */
  file: string;
  line: number;
  column: number;
}

const TRAILING_LOCATION = /(?:^| )(\S+?)(?::(\d+))?(?::(\d+))?$/;
/** Code from eval or `new Function` has no script name: V8 appends ` :line:column` alone. */
const LOCATION_WITHOUT_SCRIPT = /(?:^| ):(\d+)(?::(\d+))?$/;

export function parseCodeName(codeName: string, scriptFile: string): ParsedCodeName {
  const colon = codeName.indexOf(':');
  const prefix = colon > 0 ? codeName.slice(0, colon) : '';
  if (!JAVASCRIPT_PREFIXES.has(prefix)) {
    return { isJavaScript: false, optimized: false, functionName: codeName, file: '', line: 0, column: 0 };
  }
  let rest = codeName.slice(colon + 1);
  const optimized = rest[0] === '*';
  if (rest.length > 0 && TIER_MARKS.includes(rest[0])) rest = rest.slice(1);

  let functionName = rest;
  let file = '';
  let line = 0;
  let column = 0;
  const scriptAt = scriptFile === '' ? -1 : rest.lastIndexOf(scriptFile);
  const location = TRAILING_LOCATION.exec(rest);
  const locationAlone = scriptFile === '' ? LOCATION_WITHOUT_SCRIPT.exec(rest) : null;
  if (locationAlone) {
    functionName = rest.slice(0, locationAlone.index);
    line = Number(locationAlone[1]);
    column = locationAlone[2] ? Number(locationAlone[2]) : 0;
    if (functionName.trim() === '' && prefix === 'Eval') functionName = '(eval)';
  } else if (scriptAt >= 0 && (scriptAt === 0 || rest[scriptAt - 1] === ' ')) {
    // The script is known: whatever precedes it is the name, even with spaces in the path.
    functionName = rest.slice(0, Math.max(0, scriptAt - 1));
    file = scriptFile;
    const numbers = /^:(\d+)(?::(\d+))?/.exec(rest.slice(scriptAt + scriptFile.length));
    line = numbers ? Number(numbers[1]) : 0;
    column = numbers?.[2] ? Number(numbers[2]) : 0;
  } else if (location && (location[2] !== undefined || looksLikeScript(location[1]))) {
    functionName = rest.slice(0, Math.max(0, location.index));
    file = location[1];
    line = location[2] ? Number(location[2]) : 0;
    column = location[3] ? Number(location[3]) : 0;
  }
  functionName = functionName.trim();
  return { isJavaScript: true, optimized, functionName: functionName === '' ? '(anonymous)' : functionName, file, line, column };
}

/**
 * The script as a person reads it: an ES module's `file:` URL as its path (`file:///a/%C3%BC.mjs`
 * is /a/ü.mjs), so that a program's modules read like its CommonJS files.
 */
export function readableScript(file: string): string {
  if (!file.startsWith('file://')) return file;
  try {
    return decodeURIComponent(new URL(file).pathname);
  } catch {
    return file;  // not a well-formed URL: shown as V8 named it
  }
}

function looksLikeScript(token: string): boolean {
  return token.includes('/') || token.startsWith('node:') || token.startsWith('file:');
}

/** Which kind of JavaScript a script is: node's own, a dependency's, or the program's. */
export function scriptKind(file: string): FrameKind {
  if (file.startsWith('node:') || file.startsWith('internal/')) return FrameKind.NodeInternal;
  // memview's own bridge, loaded with --require before the program: start-up machinery like node's.
  if (/[\\/]collector[\\/]register\.cjs$/.test(file)) return FrameKind.NodeInternal;
  if (file.includes('/node_modules/') || file.includes('\\node_modules\\')) return FrameKind.NodeModules;
  // node's built-in modules are named without a path ("events", "fs") in older versions.
  if (file !== '' && !file.includes('/') && !file.includes('\\') && !file.includes(':')) {
    return FrameKind.NodeInternal;
  }
  return FrameKind.UserJs;
}
