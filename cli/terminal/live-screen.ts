// What `memview live` draws: one screenful of text from the latest snapshot of a capture being
// written. Pure (model + figures + UI state → lines), so it is tested without a terminal.
import type { LiveFigures } from '../../collector/lib/live-tail.js';
import { functionTable } from '../../viewer/model/function-table.js';
import { formatBytes, formatCount, formatDuration, frameLocation, frameName } from '../../viewer/model/frame-text.js';
import { FrameKind, type CaptureModel } from '../../viewer/model/types.js';
import { buildViewTree, defaultViewOptions, threadNodes } from '../../viewer/model/view-tree.js';
import type { Palette } from './style.js';
import { padEnd, padStart, truncateEnd, truncatePath } from './text.js';

export interface LiveState {
  sortBy: 'bytes' | 'count';
  /** Index into the thread list; -1 = all threads. */
  threadIndex: number;
  command: string;
  /** Where the program's output goes; none when following a capture another memview writes. */
  logPath?: string;
  /** Set once the program has exited. */
  exitDescription?: string;
}

export interface LiveThread { node: number; name: string; liveBytes: number }

/** Threads of the snapshot with their live bytes, in the order they appeared. */
export function liveThreads(model: CaptureModel): LiveThread[] {
  const tree = buildViewTree(model, { ...defaultViewOptions, view: 'leaks' });
  return threadNodes(model).map(({ node, name }) => ({ node, name, liveBytes: tree.totalBytes[node] }));
}

const NUMBER_WIDTH = 10;

export function liveScreen(model: CaptureModel | undefined, figures: LiveFigures, state: LiveState, columns: number, rows: number, p: Palette): string[] {
  const lines: string[] = [];
  const fit = (text: string) => truncateEnd(text, columns);
  lines.push(p.bold(fit(`memview live — ${state.command}`)));
  if (!model) {
    lines.push('', fit(state.exitDescription ?? 'waiting for the program to start tracing…'), '',
      ...(state.logPath ? [p.dim(fit(`program output → ${state.logPath}`))] : []), p.dim('q quit'));
    return lines;
  }
  const timeline = model.timeline;
  const heapBytes = timeline.heapBytes.length > 0 ? timeline.heapBytes[timeline.heapBytes.length - 1] : 0;
  lines.push(fit([
    `time ${formatDuration(figures.timeMs)}`,
    `heap ${formatBytes(heapBytes)}`,
    `tracked ${formatBytes(model.stats.leakedBytes)}`,
    `RSS ${formatBytes(figures.rssBytes)}`,
    `peak ${formatBytes(model.stats.peakBytes)}`,
    `live blocks ${formatCount(model.stats.leakedAllocations)}`,
  ].join('   ')));

  // Capture order, so the picked thread stays put between refreshes.
  const threads = liveThreads(model);
  const picked = state.threadIndex >= 0 && state.threadIndex < threads.length ? threads[state.threadIndex] : undefined;
  const threadItems = ['all', ...threads.map((thread) => `${thread.name} ${formatBytes(thread.liveBytes)}`)];
  let threadLine = 'threads:';
  let used = threadLine.length;
  threadItems.forEach((item, i) => {
    if (used < 0) return;
    if (used + 2 + item.length > columns) { threadLine += used + 2 <= columns ? ' …' : ''; used = -1; return; }
    used += 2 + item.length;
    threadLine += `  ${i - 1 === state.threadIndex ? p.inverse(item) : item}`;
  });
  lines.push(threadLine);
  lines.push(p.dim(fit(`live now, by the JavaScript (or native) function that allocated, ${picked ? picked.name : 'all threads'}, sorted by ${state.sortBy}`)));

  // Native and node-internal frames pass their memory to the nearest function of the program.
  const tree = buildViewTree(model, { ...defaultViewOptions, view: 'leaks', hideNative: true, hideInternals: true, mergeThreads: !picked, threadNode: picked?.node ?? -1 });
  const allRows = functionTable(tree).filter((row) => row.ownBytes > 0 || row.ownCount > 0);
  const isFunction = (frame: number) => frame >= 0 && model.frames.kind[frame] !== FrameKind.Thread;
  // Memory whose whole stack is hidden (native-only stacks) stays on the root or a thread node.
  const unattributedBytes = tree.selfBytes[0] + allRows.filter((row) => !isFunction(row.frame)).reduce((total, row) => total + row.ownBytes, 0);
  const functionRows = allRows
    .filter((row) => isFunction(row.frame))
    .sort((a, b) => state.sortBy === 'bytes' ? b.ownBytes - a.ownBytes || b.ownCount - a.ownCount : b.ownCount - a.ownCount || b.ownBytes - a.ownBytes);

  const room = Math.max(1, rows - lines.length - 5);
  const shown = functionRows.slice(0, room);
  const names = shown.map((row) => frameName(model, row.frame));
  const locations = shown.map((row) => frameLocation(model, row.frame));
  const textWidth = columns - 2 * (NUMBER_WIDTH + 2);
  const nameWidth = Math.min(Math.max(8, ...names.map((name) => name.length)), Math.max(12, Math.floor(textWidth * 0.4)));
  const locationWidth = textWidth - nameWidth - 2;
  lines.push('');
  lines.push(p.dim(`${padStart('LIVE BYTES', NUMBER_WIDTH)}  ${padStart('BLOCKS', NUMBER_WIDTH)}  ${padEnd('FUNCTION', nameWidth)}  LOCATION`.slice(0, columns)));
  shown.forEach((row, i) => {
    const location = locationWidth >= 8 ? `  ${p.cyan(truncatePath(locations[i], locationWidth))}` : '';
    lines.push(`${padStart(formatBytes(row.ownBytes), NUMBER_WIDTH)}  ${padStart(formatCount(row.ownCount), NUMBER_WIDTH)}  ${padEnd(truncateEnd(names[i], nameWidth), nameWidth)}${location}`.trimEnd());
  });
  if (functionRows.length > shown.length) lines.push(p.dim(`… ${formatCount(functionRows.length - shown.length)} more`));
  if (unattributedBytes > 0) lines.push(p.dim(`${padStart(formatBytes(unattributedBytes), NUMBER_WIDTH)}  outside any function`));
  lines.push('');
  if (state.exitDescription) lines.push(p.yellow(fit(`${state.exitDescription}; the figures are final (q quits)`)));
  if (state.logPath) lines.push(p.dim(fit(`program output → ${state.logPath}`)));
  lines.push(p.dim(fit('q quit   s sort by bytes/count   t next thread   T previous thread')));
  return lines;
}
