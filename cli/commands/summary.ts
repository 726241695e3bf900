// `memview summary FILE`: one table row per function (or, with --lines, per line of a function) —
// what it allocated itself (own) and under it (total), bytes and allocations — for the peak, the
// leaks or the temporary allocations, sorted and fitted to the terminal's width.
import { functionTable, type FunctionRow } from '../../viewer/model/function-table.js';
import { formatBytes, formatCount, formatDuration, frameName, linesLocation } from '../../viewer/model/frame-text.js';
import { functionGroups } from '../../viewer/model/function-groups.js';
import { FrameKind, type CaptureModel } from '../../viewer/model/types.js';
import { buildViewTree, defaultViewOptions, type ViewTree } from '../../viewer/model/view-tree.js';
import { parseOptions } from '../parse-options.js';
import { UsageError } from '../usage-error.js';
import { openCapture } from '../terminal/open-capture.js';
import { paletteFor, terminalColumns, type Palette } from '../terminal/style.js';
import { padEnd, padStart, truncateEnd, truncatePath } from '../terminal/text.js';
import { chooseView, normaliseOptionalValues, oneCaptureFile, positiveInteger, viewLabels, viewOptions, type ReportedView } from '../terminal/view-choice.js';
import { writeStdoutLine } from '../terminal/stdout.js';

export const summary = 'a table per function: own and total bytes and allocations at the peak, leaked or temporary';

const usage = 'memview summary [--sort bytes|count|own] [--rows N] [--lines] [--show-internals] [--hide-native] [--leaks | --temporary-allocations[=N]] FILE';

const help = `usage: ${usage}

One row per function, heaviest first (a function that allocates or calls from several lines adds
them up; its location then says how many):
  own    what the function allocated itself (it called the allocator)
  total  what was allocated while it was on the stack (itself and its callees)

Options:
      --sort KEY                    bytes (total bytes, default), count (total allocations), own (own bytes)
  -n, --rows N                      how many rows (default 20)
      --lines                       one row per line of a function instead (file:line:column)
      --show-internals              list node's own JavaScript frames too (by default what they
                                    allocate counts for the program function that called them)
      --hide-native                 leave out C/C++ and V8 frames the same way
      --leaks                       what was still live at the end instead of at the peak
      --temporary-allocations[=N]   allocations freed before N more on their thread (default N=1)
  -h, --help                        show this help`;

const options = {
  sort: { type: 'string' },
  rows: { type: 'string', short: 'n' },
  lines: { type: 'boolean' },
  'show-internals': { type: 'boolean' },
  'hide-native': { type: 'boolean' },
  ...viewOptions,
  help: { type: 'boolean', short: 'h' },
} as const;

const sortKeys = ['bytes', 'count', 'own'] as const;
type SortKey = (typeof sortKeys)[number];
const DEFAULT_ROWS = 20;
const NUMBER_WIDTH = 10;
const NUMBER_COLUMNS = ['OWN BYTES', 'OWN ALLOCS', 'TOTAL BYTES', 'TOTAL ALLOCS'];

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(normaliseOptionalValues(argv), options, usage);
  if (values.help) {
    console.log(help);
    return 0;
  }
  // Before the file: `--sort app.bin` took the file as its key, and "missing the capture file" hid why.
  const sortKey = (values.sort ?? 'bytes') as SortKey;
  if (!sortKeys.includes(sortKey)) throw new UsageError(`--sort takes ${sortKeys.join(', ')}, not '${values.sort}'`, usage);
  const file = oneCaptureFile(positionals, usage);
  const rowLimit = values.rows === undefined ? DEFAULT_ROWS : positiveInteger(values.rows, '--rows', usage);
  const { view, temporaryThreshold } = chooseView(values, usage);

  const model = await openCapture(file, { temporaryThreshold });
  await writeStdoutLine(summaryText(model, {
    file, view, sortKey, rowLimit, showInternals: values['show-internals'] === true, hideNative: values['hide-native'] === true,
    byLine: values.lines === true, columns: terminalColumns(), palette: paletteFor(),
  }));
  return 0;
}

export interface SummaryOptions {
  file: string;
  view: ReportedView;
  sortKey: SortKey;
  rowLimit: number;
  showInternals: boolean;
  hideNative?: boolean;
  /** One row per frame (line of a function) instead of per function. */
  byLine?: boolean;
  columns: number;
  palette: Palette;
}

/** The rows of `tree` (a view tree of `model` with the frames the summary shows), best first. */
export function sortedFunctionRows(model: CaptureModel, tree: ViewTree, sortKey: SortKey, byLine = false): FunctionRow[] {
  const rows = functionTable(tree, byLine ? undefined : functionGroups(model)).filter((row) => row.frame >= 0 && model.frames.kind[row.frame] !== FrameKind.Thread);
  const keys: Record<SortKey, (row: FunctionRow) => number[]> = {
    bytes: (row) => [row.totalBytes, row.ownBytes, row.totalCount],
    count: (row) => [row.totalCount, row.ownCount, row.totalBytes],
    own: (row) => [row.ownBytes, row.ownCount, row.totalBytes],
  };
  const key = keys[sortKey];
  return rows.sort((a, b) => {
    const ka = key(a), kb = key(b);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return kb[i] - ka[i];
    return a.frame - b.frame;
  });
}

export function summaryText(model: CaptureModel, options: SummaryOptions): string {
  const { view, palette: p } = options;
  const tree = buildViewTree(model, { ...defaultViewOptions, view, mergeThreads: true });
  // The frames listed: internals and native frames left out unless asked for.
  const shownTree = buildViewTree(model, { ...defaultViewOptions, view, mergeThreads: true, hideInternals: !options.showInternals, hideNative: options.hideNative === true });
  const rows = sortedFunctionRows(model, shownTree, options.sortKey, options.byLine);
  const lines: string[] = [];
  const when = view === 'peak' ? `, at ${formatDuration(model.stats.peakTimeMs)}` : '';
  const threshold = view === 'temporary' ? ` (freed before ${model.temporaryThreshold} more allocation${model.temporaryThreshold === 1 ? '' : 's'})` : '';
  lines.push(p.bold(truncateEnd(`${options.file}: ${formatBytes(tree.totalBytes[0])} in ${formatCount(tree.totalCount[0])} allocations ${viewLabels[view]}${threshold}${when}`, options.columns)));
  if (rows.length === 0) {
    lines.push('', 'nothing to show: no allocations in this view');
    return lines.join('\n');
  }

  // Numbers have fixed widths; the function and its location share what is left.
  const numbersWidth = NUMBER_COLUMNS.length * (NUMBER_WIDTH + 2);
  const shown = rows.slice(0, options.rowLimit);
  const names = shown.map((row) => frameName(model, row.frame));
  const locations = shown.map((row) => linesLocation(model, row.frame, row.lines));
  const textWidth = options.columns - numbersWidth - 1;
  const longestName = Math.max(8, ...names.map((name) => name.length));
  const longestLocation = Math.max(0, ...locations.map((location) => location.length));
  let nameWidth = Math.min(longestName, Math.max(12, Math.floor(textWidth * 0.45)));
  let locationWidth = textWidth - nameWidth - 2;
  if (longestLocation < locationWidth) nameWidth = Math.min(longestName, textWidth - longestLocation - 2);
  locationWidth = Math.min(longestLocation, textWidth - nameWidth - 2);
  const showLocation = longestLocation > 0 && locationWidth >= 12;
  if (!showLocation) nameWidth = Math.min(longestName, textWidth);

  const header = NUMBER_COLUMNS.map((title) => padStart(title, NUMBER_WIDTH)).join('  ') + '  ' + padEnd('FUNCTION', nameWidth) + (showLocation ? '  LOCATION' : '');
  lines.push('', p.dim(header.trimEnd()));
  shown.forEach((row, i) => {
    const kind = model.frames.kind[row.frame];
    const numbers = [formatBytes(row.ownBytes), formatCount(row.ownCount), formatBytes(row.totalBytes), formatCount(row.totalCount)]
      .map((cell) => padStart(cell, NUMBER_WIDTH)).join('  ');
    const name = padEnd(truncateEnd(names[i], nameWidth), nameWidth);
    const styledName = kind === FrameKind.UserJs ? p.bold(name) : kind === FrameKind.NodeInternal || kind === FrameKind.V8 ? p.dim(name) : name;
    const location = showLocation ? `  ${p.cyan(truncatePath(locations[i], locationWidth))}` : '';
    lines.push(`${numbers}  ${styledName}${location}`.trimEnd());
  });
  if (rows.length > shown.length) {
    lines.push(p.dim(`… ${formatCount(rows.length - shown.length)} more ${options.byLine ? 'lines' : 'functions'} (--rows ${rows.length} shows them all)`));
  }
  // With frames left out, a stack made only of them belongs to no listed function.
  const unlisted = shownTree.selfBytes[0] + functionTable(shownTree).filter((row) => row.frame < 0).reduce((total, row) => total + row.ownBytes, 0);
  if (unlisted > 0) lines.push(p.dim(`${formatBytes(unlisted)} ${viewLabels[view]} in stacks with no listed function`));
  return lines.join('\n');
}
