// `memview stats FILE`: the headline figures of a capture, for a person (aligned, with units, an
// ASCII size histogram and the top allocating locations) or, with --json, as one CaptureStats
// object for scripts (the contract in viewer/model/types.ts).
import { topLocations } from '../../collector/lib/reader/index.js';
import { openCapture } from '../terminal/open-capture.js';
import type { CaptureModel, CaptureStats, LocationFigure } from '../../viewer/model/types.js';
import { parseOptions } from '../parse-options.js';
import { normaliseOptionalValues } from '../terminal/view-choice.js';
import { UsageError } from '../usage-error.js';
import { writeStdoutLine } from '../terminal/stdout.js';
import { inliningNote } from '../../viewer/model/inlining-note.js';
import { wrapWords } from '../terminal/text.js';

export const summary = 'print a capture’s figures: peak, leaks, allocators, sizes, top locations';

const usage = 'memview stats [--json] [-n N] [--temporary-allocations[=N]] FILE';
const DEFAULT_TOP_LOCATIONS = 10;
const HISTOGRAM_BAR_WIDTH = 40;
/** Demangled C++ names can run to hundreds of characters; the table keeps its columns readable. */
const MAX_FUNCTION_NAME_WIDTH = 60;
/** Notes are wrapped to this many characters. */
const NOTE_WIDTH = 96;

const options = {
  json: { type: 'boolean' },
  top: { type: 'string', short: 'n' },
  'temporary-allocations': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(normaliseOptionalValues(argv), options, usage);
  if (values.help) {
    console.log(`usage: ${usage}`);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'missing the capture file' : `expected one capture file, got ${positionals.length}`, usage);
  }
  const file = positionals[0];
  const topCount = positiveInteger(values.top, '-n', DEFAULT_TOP_LOCATIONS);
  const temporaryThreshold = positiveInteger(values['temporary-allocations'], '--temporary-allocations', 1);

  // The wasm engine (the reference reader if the engine fails); warnings only in the human form.
  const model = await openCapture(file, { temporaryThreshold, warnTruncated: !values.json });
  const top = topLocations(model.tree, model.frames, model.strings, model.views.allocated, topCount);
  const stats: CaptureStats = { ...model.stats, topByBytes: top.byBytes, topByCount: top.byCount };

  await writeStdoutLine(values.json ? JSON.stringify(stats, null, 2) : humanReport(file, model, stats, topCount));
  return 0;
}

function positiveInteger(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${flag} wants a positive whole number, not '${text}'`, usage);
  return value;
}

function humanReport(file: string, model: CaptureModel, stats: CaptureStats, topCount: number): string {
  const { meta } = model;
  const temporary = sum(model.views.temporary.count);
  const temporaryBytes = sum(model.views.temporary.bytes);
  const lines: string[] = [];
  lines.push(`Capture ${file}${stats.truncated ? '  (truncated)' : ''}`);
  if (meta.commandLine.length > 0) lines.push(`  command   ${meta.commandLine.join(' ')}`);
  const facts = [meta.pid ? `pid ${meta.pid}` : '', meta.nodeVersion ? `node ${meta.nodeVersion}` : '', meta.nativeFrames ? 'native frames' : '']
    .filter((fact) => fact !== '');
  if (facts.length > 0) lines.push(`  process   ${facts.join(', ')}`);
  if (meta.endReason.startsWith('SIG')) {
    // A truncated capture's signal was recorded afterwards (memview run, memview symbolize): the
    // collector did not see it coming, and the events of the last moments are lost.
    lines.push(meta.truncated
      ? `  ended     killed by ${meta.endReason}; the events after the last flush are lost`
      : `  ended     on ${meta.endReason}, which memview caught to finish the capture`);
  }
  lines.push('');

  lines.push(...table([
    ['duration', formatDuration(stats.durationMs), ''],
    ['peak memory', formatBytes(stats.peakBytes), `at ${formatDuration(stats.peakTimeMs)} (heap + accessible mappings)`],
    ['peak heap', formatBytes(stats.peakHeapBytes), 'malloc family and operator new'],
    ['peak RSS', formatBytes(stats.peakRssBytes), ''],
    ['allocated', formatBytes(stats.totalBytesAllocated), `in ${plural(stats.totalAllocations, 'allocation')}`],
    ['leaked', formatBytes(stats.leakedBytes), `in ${plural(stats.leakedAllocations, 'allocation')} still live at the end`],
    ['temporary', formatBytes(temporaryBytes), `in ${plural(temporary, 'allocation')} freed before ${plural(model.temporaryThreshold, 'more allocation')} on their thread`],
  ], { indent: '  ', alignRight: [1] }));

  const allocators = Object.entries(stats.allocators).filter(([, figure]) => figure.count > 0);
  if (allocators.length > 0) {
    lines.push('', 'Allocators');
    lines.push(...table(allocators.map(([name, figure]) => [name, formatCount(figure.count), formatBytes(figure.bytes)]),
      { indent: '  ', alignRight: [1, 2] }));
  }

  if (stats.sizeHistogram.length > 0) {
    lines.push('', 'Allocation sizes (from .. below)');
    const largest = Math.max(...stats.sizeHistogram.map((bin) => bin.count));
    lines.push(...table(stats.sizeHistogram.map((bin) => [
      // Bins are powers of two: label them by their bounds, [min, max + 1).
      bin.maxBytes === bin.minBytes ? formatBytes(bin.minBytes) : `${formatPowerOfTwo(bin.minBytes)} .. ${formatPowerOfTwo(bin.maxBytes + 1)}`,
      `|${bar(bin.count, largest)}|`,
      formatCount(bin.count),
    ]), { indent: '  ', alignRight: [0, 2] }));
  }

  const locationRows = (locations: LocationFigure[]) => table(locations.map((location) => [
    formatBytes(location.bytes), formatCount(location.count), shorten(location.function, MAX_FUNCTION_NAME_WIDTH), describeFile(location),
  ]), { indent: '  ', alignRight: [0, 1] });
  if (stats.topByBytes.length > 0) {
    lines.push('', `Top ${topCount} locations by bytes allocated`, ...locationRows(stats.topByBytes));
    lines.push('', `Top ${topCount} locations by number of allocations`, ...locationRows(stats.topByCount));
  }
  const note = inliningNote(stats, meta);
  if (note !== undefined) lines.push('', ...wrapWords(`Note: ${note}`, NOTE_WIDTH).map((line, i) => (i === 0 ? line : `  ${line}`)));

  if (stats.threads.length > 0) {
    lines.push('', 'Threads');
    lines.push(...table(stats.threads.map((thread) => [String(thread.id), thread.name || '-', plural(thread.allocations, 'allocation')]),
      { indent: '  ', alignRight: [0, 2] }));
  }
  return lines.join('\n');
}

function describeFile(location: LocationFigure): string {
  if (location.file === '') return '';
  return location.line > 0 ? `${location.file}:${location.line}` : location.file;
}

/** Columns padded to their widest cell; the last column is not padded on the right. */
function table(rows: string[][], { indent, alignRight }: { indent: string; alignRight: number[] }): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, cell.length); });
  return rows.map((row) => indent + row.map((cell, i) => {
    if (alignRight.includes(i)) return cell.padStart(widths[i]);
    return i === row.length - 1 ? cell : cell.padEnd(widths[i]);
  }).join('  ').trimEnd());
}

function shorten(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

function bar(count: number, largest: number): string {
  const filled = largest === 0 ? 0 : Math.round((count / largest) * HISTOGRAM_BAR_WIDTH);
  return '#'.repeat(count > 0 ? Math.max(1, filled) : 0).padEnd(HISTOGRAM_BAR_WIDTH);
}

function sum(values: Float64Array): number {
  return values.reduce((total, value) => total + value, 0);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

function plural(count: number, noun: string): string {
  return `${formatCount(count)} ${noun}${count === 1 ? '' : 's'}`;
}

/** 512 → "512 B", 1024 → "1 KiB", 2^20 → "1 MiB": exact for the bounds of the size bins. */
function formatPowerOfTwo(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let unit = 0;
  while (bytes >= 1024 && unit < units.length - 1) {
    bytes /= 1024;
    unit++;
  }
  return `${bytes} ${units[unit]}`;
}

export function formatCount(count: number): string {
  return Math.round(count).toLocaleString('en-US');
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 2 : 0)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${((ms - minutes * 60_000) / 1000).toFixed(0)} s`;
}
