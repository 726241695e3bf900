// The stats panel: totals, allocators, the size histogram and the top locations, from the
// model's CaptureStats.
import type { CaptureModel, LocationFigure } from '../model/types.js';
import { formatBytes, formatCount, formatDuration } from '../model/frame-text.js';
import { h } from './dom.js';
import { inliningNote } from '../model/inlining-note.js';

function figures(rows: [string, string][]): HTMLElement {
  return h('table', {}, h('tbody', {}, ...rows.map(([k, v]) => h('tr', {}, h('td', {}, k), h('td', { className: 'num' }, v)))));
}

function locations(list: LocationFigure[]): HTMLElement {
  if (list.length === 0) return h('div', { className: 'mv-note' }, 'none recorded');
  return h('table', {}, h('colgroup', {}, h('col', { className: 'c-fn' }), h('col', { className: 'c-loc' }), h('col', { className: 'c-num' }), h('col', { className: 'c-num' })),
    h('tbody', {}, ...list.slice(0, 15).map((l) => h('tr', {},
    h('td', { className: 'fn', title: l.function }, l.function || '(anonymous)'),
    h('td', { className: 'loc', title: l.file }, l.file ? (l.line ? `${l.file}:${l.line}` : l.file) : ''),
    h('td', { className: 'num' }, formatBytes(l.bytes)),
    h('td', { className: 'num' }, formatCount(l.count))))));
}

function inliningSection(model: CaptureModel): HTMLElement[] {
  const note = inliningNote(model.stats, model.meta);
  return note === undefined ? [] : [h('section', { className: 'wide mv-inlining-note' }, h('h2', {}, 'Inlined JavaScript'), h('p', { className: 'mv-note' }, note))];
}

export function statsView(model: CaptureModel): HTMLElement {
  const s = model.stats;
  const allocators = Object.entries(s.allocators).sort((a, b) => b[1].bytes - a[1].bytes);
  const maxBucket = Math.max(1, ...s.sizeHistogram.map((b) => b.count));
  return h('div', { className: 'mv-panel' }, h('div', { className: 'mv-stats' },
    h('section', {}, h('h2', {}, 'Totals'), figures([
      ['peak tracked memory', formatBytes(s.peakBytes)],
      ['peak heap', formatBytes(s.peakHeapBytes)],
      ['peak at', formatDuration(s.peakTimeMs)],
      ['peak RSS', formatBytes(s.peakRssBytes)],
      ['allocations', formatCount(s.totalAllocations)],
      ['bytes allocated', formatBytes(s.totalBytesAllocated)],
      ['leaked (never freed)', `${formatBytes(s.leakedBytes)} in ${formatCount(s.leakedAllocations)}`],
      ['duration', formatDuration(s.durationMs)],
      ['threads', String(s.threads.length)],
    ])),
    h('section', {}, h('h2', {}, 'Allocators'), figures(allocators.map(([name, f]) => [name, `${formatBytes(f.bytes)} in ${formatCount(f.count)}`]))),
    h('section', {}, h('h2', {}, 'Allocation sizes'), h('table', {}, h('colgroup', {}, h('col', { className: 'c-range' }), h('col', { className: 'c-bar' }), h('col', { className: 'c-count' })),
      h('tbody', {}, ...s.sizeHistogram.map((b) => h('tr', {},
      h('td', {}, `${formatBytes(b.minBytes)} – ${formatBytes(b.maxBytes)}`),
      h('td', {}, h('span', { className: 'mv-bar', style: `width:${Math.max(0.5, (100 * b.count) / maxBucket)}%` })),
      h('td', { className: 'num' }, formatCount(b.count))))))),
    h('section', { className: 'wide' }, h('h2', {}, 'Top locations by bytes'), locations(s.topByBytes)),
    h('section', { className: 'wide' }, h('h2', {}, 'Top locations by count'), locations(s.topByCount)),
    ...inliningSection(model),
    h('section', {}, h('h2', {}, 'Threads'), figures(s.threads.map((t) => [`${t.name || 'thread'} (${t.id})`, `${formatCount(t.allocations)} allocations`]))),
  ));
}
