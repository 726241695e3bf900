// `memview tree FILE`: the call tree of the peak (or leaks, or temporary allocations) as text: under
// each node its heaviest N callees, the rest summarised on one line ("… 12 more, 3.4 MiB"); node's
// own JavaScript (module loading, `node:` scripts) is folded into its callers unless asked for.
import { formatBytes, formatCount, formatDuration, formatPercent, frameLocation, frameName } from '../../viewer/model/frame-text.js';
import { FrameKind, type CaptureModel } from '../../viewer/model/types.js';
import { buildViewTree, defaultViewOptions, threadNodes, type ViewTree } from '../../viewer/model/view-tree.js';
import { parseOptions } from '../parse-options.js';
import { UsageError } from '../usage-error.js';
import { openCapture } from '../terminal/open-capture.js';
import { paletteFor, terminalColumns, type Palette } from '../terminal/style.js';
import { truncateEnd, truncatePath } from '../terminal/text.js';
import { chooseView, normaliseOptionalValues, oneCaptureFile, positiveInteger, viewLabels, viewOptions, type ReportedView } from '../terminal/view-choice.js';
import { writeStdoutLine } from '../terminal/stdout.js';

export const summary = 'the call tree of the peak (or leaks) as text, heaviest branches first';

const usage = 'memview tree [--biggest N] [--min-percent P] [--show-internals] [--hide-native] [--leaks | --temporary-allocations[=N]] FILE';

const help = `usage: ${usage}

Prints the call tree from the outermost frames down to the allocators' callers. Under each
node the N heaviest callees are shown; the others are summarised on one line.

Options:
  -b, --biggest N                   callees shown under each node (default 5)
      --min-percent P               callees under P% of the whole are summarised too (default 1)
      --show-internals              keep node's own JavaScript frames (hidden by default)
      --hide-native                 fold C/C++ and V8 frames into their JavaScript callers
      --leaks                       what was still live at the end instead of at the peak
      --temporary-allocations[=N]   allocations freed before N more on their thread (default N=1)
  -h, --help                        show this help`;

const options = {
  biggest: { type: 'string', short: 'b' },
  'min-percent': { type: 'string' },
  'show-internals': { type: 'boolean' },
  'hide-native': { type: 'boolean' },
  ...viewOptions,
  help: { type: 'boolean', short: 'h' },
} as const;

const DEFAULT_BIGGEST = 5;
const DEFAULT_MIN_PERCENT = 1;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(normaliseOptionalValues(argv), options, usage);
  if (values.help) {
    console.log(help);
    return 0;
  }
  const file = oneCaptureFile(positionals, usage);
  const biggest = values.biggest === undefined ? DEFAULT_BIGGEST : positiveInteger(values.biggest, '--biggest', usage);
  const minPercent = values['min-percent'] === undefined ? DEFAULT_MIN_PERCENT : Number(values['min-percent']);
  if (!(minPercent >= 0 && minPercent <= 100)) throw new UsageError(`--min-percent wants a number from 0 to 100, not '${values['min-percent']}'`, usage);
  const { view, temporaryThreshold } = chooseView(values, usage);
  const model = await openCapture(file, { temporaryThreshold });
  await writeStdoutLine(treeText(model, {
    file, view, biggest, minFraction: minPercent / 100, showInternals: values['show-internals'] === true,
    hideNative: values['hide-native'] === true, columns: terminalColumns(), palette: paletteFor(),
  }));
  return 0;
}

export interface TreeOptions {
  file: string;
  view: ReportedView;
  biggest: number;
  minFraction: number;
  showInternals: boolean;
  hideNative?: boolean;
  columns: number;
  palette: Palette;
}

export function treeText(model: CaptureModel, options: TreeOptions): string {
  const p = options.palette;
  // One thread needs no thread level.
  const mergeThreads = threadNodes(model).length <= 1;
  const tree = buildViewTree(model, { ...defaultViewOptions, view: options.view, hideInternals: !options.showInternals, hideNative: options.hideNative === true, mergeThreads });
  const rootBytes = tree.totalBytes[0];
  const when = options.view === 'peak' ? `, at ${formatDuration(model.stats.peakTimeMs)}` : '';
  const lines = [p.bold(truncateEnd(`${options.file}: ${formatBytes(rootBytes)} in ${formatCount(tree.totalCount[0])} allocations ${viewLabels[options.view]}${when}`, options.columns))];
  if (tree.totalBytes[0] === 0 && tree.totalCount[0] === 0) {
    lines.push('nothing to show: no allocations in this view');
    return lines.join('\n');
  }
  const children = childLists(tree);
  const minBytes = rootBytes * options.minFraction;

  /** Deep branches keep the right end of their tree lines so every line fits the width. */
  const fitPrefix = (prefix: string, needed: number): string => {
    if (prefix.length + needed <= options.columns) return prefix;
    const keep = options.columns - needed - 1;
    return keep > 0 ? `…${prefix.slice(prefix.length - keep)}` : '';
  };
  const NAME_MIN = 8;

  const describe = (node: number, fullPrefix: string): string => {
    const figures = `${formatBytes(tree.totalBytes[node]).padStart(9)} ${formatPercent(tree.totalBytes[node], rootBytes).padStart(6)}  `;
    const frame = tree.frame[node];
    const name = frameName(model, frame);
    const location = frameLocation(model, frame);
    const prefix = fitPrefix(fullPrefix, figures.length + Math.min(name.length, NAME_MIN));
    const room = options.columns - prefix.length - figures.length;
    const shownName = truncateEnd(name, Math.max(Math.min(name.length, NAME_MIN), Math.min(name.length, room - (location ? 14 : 0))));
    const locationRoom = room - shownName.length - 2;
    const shownLocation = location && locationRoom >= 12 ? truncatePath(location, locationRoom) : '';
    const kind = frame >= 0 ? model.frames.kind[frame] : -1;
    const styledName = kind === FrameKind.UserJs ? p.bold(shownName) : kind === FrameKind.Thread ? p.yellow(shownName) : kind === FrameKind.NodeInternal || kind === FrameKind.V8 ? p.dim(shownName) : shownName;
    return `${p.dim(prefix)}${figures}${styledName}${shownLocation ? `  ${p.cyan(shownLocation)}` : ''}`;
  };

  lines.push(describe(0, ''));
  // Depth first with a stack of its own, not recursion: a foreign or crafted capture can hold
  // stacks thousands of frames deep, past the JavaScript call stack. The stack holds lines to print
  // and nodes still to open, in reverse order. An indent is kept to its last `columns` characters:
  // fitPrefix shows no more than that, and a full one would make deep trees quadratic.
  const pending: (string | { node: number; indent: string })[] = [{ node: 0, indent: '' }];
  const clipIndent = (indent: string) => (indent.length > options.columns ? indent.slice(indent.length - options.columns) : indent);
  while (pending.length > 0) {
    const item = pending.pop()!;
    if (typeof item === 'string') {
      lines.push(item);
      continue;
    }
    const { node, indent } = item;
    const kids = children[node]
      .filter((child) => tree.totalBytes[child] > 0 || tree.totalCount[child] > 0)
      .sort((a, b) => tree.totalBytes[b] - tree.totalBytes[a] || tree.totalCount[b] - tree.totalCount[a] || a - b);
    const shown = kids.filter((child, i) => i < options.biggest && tree.totalBytes[child] >= minBytes);
    const rest = kids.slice(shown.length);
    const restBytes = rest.reduce((total, child) => total + tree.totalBytes[child], 0);
    const selfBytes = tree.selfBytes[node];
    const entries = shown.length + (rest.length > 0 ? 1 : 0) + (selfBytes > 0 && kids.length > 0 ? 1 : 0);
    let at = 0;
    const branch = () => (++at === entries ? ['└─ ', '   '] : ['├─ ', '│  ']);
    const opened: (string | { node: number; indent: string })[] = [];
    if (selfBytes > 0 && kids.length > 0) {
      const [here] = branch();
      const figures = `${formatBytes(selfBytes).padStart(9)} ${formatPercent(selfBytes, rootBytes).padStart(6)}  `;
      opened.push(`${p.dim(fitPrefix(indent + here, figures.length + 5))}${figures}${p.dim('(own)')}`);
    }
    for (const child of shown) {
      const [here, below] = branch();
      opened.push(describe(child, indent + here));
      opened.push({ node: child, indent: clipIndent(indent + below) });
    }
    if (rest.length > 0) {
      const [here] = branch();
      const text = `… ${formatCount(rest.length)} more, ${formatBytes(restBytes)}`;
      opened.push(p.dim(`${fitPrefix(indent + here, text.length)}${text}`));
    }
    for (let i = opened.length - 1; i >= 0; i--) pending.push(opened[i]);
  }
  return lines.join('\n');
}

function childLists(tree: ViewTree): number[][] {
  const children: number[][] = Array.from({ length: tree.count }, () => []);
  for (let i = 1; i < tree.count; i++) children[tree.parent[i]].push(i);
  return children;
}
