// How frames and figures read as text: labels, locations, byte sizes. Pure string functions; the
// viewer always puts their results into the page as text, never as HTML.
import { FrameKind, type CaptureModel } from './types.js';

export const frameKindNames: Record<FrameKind, string> = {
  [FrameKind.UserJs]: 'your JavaScript',
  [FrameKind.NodeModules]: 'node_modules',
  [FrameKind.NodeInternal]: 'node internals',
  [FrameKind.Native]: 'native',
  [FrameKind.V8]: 'V8',
  [FrameKind.Thread]: 'thread',
};

export function frameName(model: CaptureModel, frame: number): string {
  if (frame === -2) return '(hidden frames)'; // view-tree.ts hiddenFramesFrame
  if (frame < 0) return 'all';
  const name = model.strings[model.frames.functionName[frame]];
  if (model.frames.kind[frame] === FrameKind.Thread) return /^thread\b/.test(name) ? name : `thread ${name || '?'}`;
  return name || '(anonymous)';
}

/** `file:line:column` for JavaScript, the library path for native frames; "" when unknown. */
export function frameLocation(model: CaptureModel, frame: number): string {
  if (frame < 0) return '';
  const { frames, strings } = model;
  const file = strings[frames.file[frame]] ?? '';
  if (!file) return '';
  const kind = frames.kind[frame];
  if (kind === FrameKind.Native || kind === FrameKind.V8 || frames.line[frame] === 0) return file;
  return frames.column[frame] > 0 ? `${file}:${frames.line[frame]}:${frames.column[frame]}` : `${file}:${frames.line[frame]}`;
}

/** Where a table row is: the frame's location, or its file and how many lines when it adds up several. */
export function linesLocation(model: CaptureModel, frame: number, lines: number): string {
  if (lines <= 1) return frameLocation(model, frame);
  const file = model.strings[model.frames.file[frame]] ?? '';
  return `${file || '?'} (${lines} lines)`;
}

const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
  const sign = bytes < 0 ? '-' : '';
  return unit === 0 ? `${sign}${value} B` : `${sign}${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${units[unit]}`;
}

export function formatCount(count: number): string {
  return Math.round(count).toLocaleString('en-US');
}

export function formatPercent(part: number, whole: number): string {
  if (whole <= 0) return '0%';
  const p = (100 * part) / whole;
  return `${p >= 10 || p === 0 ? p.toFixed(1) : p.toPrecision(2)}%`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms.toFixed(0)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${((ms - minutes * 60_000) / 1000).toFixed(0)} s`;
}
