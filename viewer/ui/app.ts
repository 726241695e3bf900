// The viewer page for one model: header, toolbar, memory chart, and the flame graph / table /
// stats tabs. All state changes go through `update`, which recomputes what depends on them.
import { FrameKind, type CaptureModel, type NodeMetrics } from '../model/types.js';
import { buildViewTree, defaultViewOptions, hiddenFramesFrame, threadNodes, type ViewName, type ViewOptions, type ViewTree } from '../model/view-tree.js';
import { ancestry, hitTest, layoutFlame, type FlameLayout, type WidthMetric } from '../model/flame-layout.js';
import { searchLayout, type SearchResult } from '../model/search.js';
import { nativeFramesLeftUnnamed } from '../model/unnamed-native-frames.js';
import { formatBytes, formatCount, formatDuration, formatPercent, frameKindNames, frameLocation, frameName } from '../model/frame-text.js';
import { fromSparse, snapRange, type TemporalRanges } from '../model/report-payload.js';
import { cssColour, frameFills, kindColours } from '../render/palette.js';
import { FlameView } from './flame-view.js';
import { TimelineView } from './timeline-view.js';
import { TableView } from './table-view.js';
import { statsView } from './stats-view.js';
import { clear, h } from './dom.js';

export type RangeViews = Partial<CaptureModel['views']> & { snappedMs?: [number, number] };
/** Re-aggregates the views for a time range (the engine's rangeViews, or a report's ranges). */
export type RangeSource = (t0Ms: number, t1Ms: number) => Promise<RangeViews>;

export interface AppInput {
  model: CaptureModel;
  initialView: ViewName;
  temporal: TemporalRanges | null;
  rangeSource: RangeSource | null;
  foldedBelow?: number;
  /** A FlameView whose init() was started early (while the model was decoded). */
  flame?: Promise<FlameView>;
}

export function prepareFlameView(): Promise<FlameView> {
  const view = new FlameView();
  return view.init().then(() => view, (error: unknown) => {
    throw new Error(`the flame graph needs WebGL, which this browser did not provide (${error instanceof Error ? error.message : String(error)})`);
  });
}

const viewLabels: Record<ViewName, string> = {
  peak: 'at peak',
  leaks: 'leaks (never freed)',
  temporary: 'temporary allocations',
  allocated: 'total allocated',
};

function viewNote(view: ViewName, model: CaptureModel, ranged: boolean): string {
  if (ranged && (view === 'peak' || view === 'leaks')) {
    return view === 'peak'
      ? 'Within the chosen time range: memory live when tracked memory was highest inside the range, by the call stack that allocated it.'
      : 'Within the chosen time range: memory allocated in the range and still live at its end, by the call stack that allocated it.';
  }
  const threshold = model.temporaryThreshold;
  const notes: Record<ViewName, string> = {
    peak: 'Memory that was live when tracked memory was highest, by the call stack that allocated it.',
    leaks: 'Memory allocated and never freed before the program ended, by the call stack that allocated it.',
    temporary: `Allocations freed again within ${threshold} later allocation${threshold === 1 ? '' : 's'} on the same thread: churn that costs time, not memory.`,
    allocated: 'Everything ever allocated, freed or not, by the call stack that allocated it.',
  };
  return `${ranged ? 'Within the chosen time range: ' : ''}${notes[view]} Native allocations (malloc, operator new, mmap) are tracked; objects on V8's own heap show up only as the pages V8 maps for it.`;
}

/** A temporal report's precomputed ranges; a selection snaps outwards to the nearest cuts. */
export function temporalRangeSource(temporal: TemporalRanges, nodeCount: number): RangeSource {
  return async (t0, t1) => {
    const range = snapRange(temporal, t0, t1);
    if (!range) throw new Error('this report has no data for that range');
    return {
      peak: fromSparse(range.peak, nodeCount),
      leaks: fromSparse(range.leaks, nodeCount),
      snappedMs: [temporal.boundsMs[range.from], temporal.boundsMs[range.to]],
    };
  };
}

export async function startApp(root: HTMLElement, input: AppInput): Promise<void> {
  const { model } = input;
  const rangeSource = input.rangeSource ?? (input.temporal ? temporalRangeSource(input.temporal, model.tree.count) : null);
  const state = {
    options: { ...defaultViewOptions, view: input.initialView } as ViewOptions,
    metric: 'bytes' as WidthMetric,
    search: '',
    tab: 'flame' as 'flame' | 'table' | 'stats',
    range: null as [number, number] | null,
    rangeViews: null as RangeViews | null,
  };
  let tree: ViewTree;
  let layout = undefined as unknown as FlameLayout;
  let fillBySlot: Uint32Array;
  let result: SearchResult | null = null;
  const fills = frameFills(model);
  const timings = { treeMs: 0, layoutMs: 0, fullLayoutMs: 0, pixiInitMs: 0 };

  // Header
  const meta = model.meta;
  // A model made before end reasons were read has none (`?.`).
  const diedOn = meta.endReason?.startsWith('SIG') ? `the program died on ${meta.endReason}` : '';
  const flags = [meta.nativeFrames ? '--native' : '', meta.truncated || model.stats.truncated ? 'truncated capture' : '', diedOn].filter(Boolean);
  const header = h('header', { className: 'mv-header' },
    h('h1', {}, 'memview'),
    h('span', { className: 'mv-cmd', title: meta.commandLine.join(' ') }, meta.commandLine.length ? meta.commandLine.join(' ') : '(command line not included)'),
    h('span', { className: 'mv-facts' },
      h('span', {}, `pid ${meta.pid}`),
      h('span', {}, `node ${meta.nodeVersion || '?'}`),
      h('span', {}, `duration ${formatDuration(meta.durationMs)}`),
      meta.startTimeUnixMs ? h('span', {}, new Date(meta.startTimeUnixMs).toISOString().replace('T', ' ').slice(0, 19) + ' UTC') : null,
      flags.length ? h('span', {}, flags.join(', ')) : null,
      (meta.truncated || model.stats.truncated) && nativeFramesLeftUnnamed(model)
        ? h('span', { className: 'mv-unnamed', title: 'The program was killed before memview could name all of its native frames. On the machine it ran on, \'memview symbolize CAPTURE\' names them from the object files.' }, 'native frames unnamed: memview symbolize names them')
        : null,
      h('span', {}, `peak ${formatBytes(model.stats.peakBytes)}`),
      h('span', {}, `leaked ${formatBytes(model.stats.leakedBytes)}`),
      input.foldedBelow ? h('span', { title: 'the report was kept under 5 MB by folding the smallest call paths into their callers; totals are exact' }, `call paths under ${formatPercent(input.foldedBelow, 1)} folded`) : null));

  // Toolbar
  const viewSelect = h('select', { 'aria-label': 'view' }, ...(Object.keys(viewLabels) as ViewName[]).map((v) => h('option', { value: v, selected: v === state.options.view }, viewLabels[v])));
  viewSelect.addEventListener('change', () => update({ view: viewSelect.value as ViewName }));
  const metricSelect = h('select', { 'aria-label': 'width' }, h('option', { value: 'bytes' }, 'width: bytes'), h('option', { value: 'count' }, 'width: allocations'));
  metricSelect.addEventListener('change', () => { state.metric = metricSelect.value as WidthMetric; recompute(); });
  const toggle = (label: string, key: 'hideInternals' | 'hideNative' | 'mergeThreads' | 'inverted', title: string) => {
    const box = h('input', { type: 'checkbox', 'data-toggle': key });
    box.addEventListener('change', () => update({ [key]: box.checked }));
    return h('label', { title }, box, label);
  };
  const threads = threadNodes(model);
  const threadSelect = h('select', { 'aria-label': 'thread' }, h('option', { value: '-1' }, 'all threads'), ...threads.map((t) => h('option', { value: String(t.node) }, frameName(model, model.tree.frame[t.node]))));
  threadSelect.addEventListener('change', () => update({ threadNode: Number(threadSelect.value) }));
  const searchBox = h('input', { type: 'search', placeholder: 'search functions, files  (/)', title: 'search function names and file paths; press / to get here', 'aria-label': 'search' });
  // On big trees a search scans every frame: wait for a pause in typing.
  let searchTimer = 0;
  searchBox.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = window.setTimeout(() => { state.search = searchBox.value; applySearch(); }, model.tree.count > 100_000 ? 150 : 0);
  });
  const tabButtons = (['flame', 'table', 'stats'] as const).map((tab) => {
    const b = h('button', { 'data-tab': tab, 'aria-selected': String(tab === state.tab) }, tab === 'flame' ? 'Flame graph' : tab === 'table' ? 'Table' : 'Stats');
    b.addEventListener('click', () => showTab(tab));
    return b;
  });
  const toolbar = h('div', { className: 'mv-toolbar' },
    h('div', { className: 'mv-tabs' }, ...tabButtons),
    viewSelect, metricSelect,
    toggle('inverted', 'inverted', 'allocating functions on top, their callers below'),
    toggle('hide internals', 'hideInternals', "hide node's own JavaScript and module loading; their allocations go to the caller"),
    toggle('hide native', 'hideNative', 'hide C/C++ and V8 frames; their allocations go to the JavaScript caller'),
    toggle('merge threads', 'mergeThreads', 'one tree for all threads'),
    threads.length > 1 ? threadSelect : null,
    searchBox);
  const note = h('div', { className: 'mv-note mv-view-note' });

  const timeline = new TimelineView(model.timeline, model.stats.peakTimeMs, model.meta.durationMs, rangeSource ? (range) => void setRange(range) : null);

  // Flame graph
  const crumbs = h('nav', { className: 'mv-crumbs', 'aria-label': 'zoom path' });
  const flameHost = h('div', { className: 'mv-flame', 'aria-label': 'flame graph' });
  const legend = h('div', { className: 'mv-legend' }, ...([FrameKind.UserJs, FrameKind.NodeModules, FrameKind.NodeInternal, FrameKind.Native, FrameKind.V8, FrameKind.Thread] as FrameKind[]).map((k) =>
    h('span', { style: `--swatch:${cssColour(kindColours[k])}` }, frameKindNames[k])), h('span', { style: '--swatch:#d43bd4' }, 'search match'));
  const flamePanel = h('div', { className: 'mv-main' }, crumbs, flameHost, legend);
  const table = new TableView(model, (name) => { searchBox.value = name; state.search = name; showTab('flame'); applySearch(); });
  const stats = statsView(model);
  const main = h('div', { className: 'mv-main' }, flamePanel, table.element, stats);
  const tooltip = h('div', { className: 'mv-tooltip', role: 'tooltip' });
  root.replaceChildren(header, toolbar, note, timeline.element, main, tooltip);
  const program = meta.commandLine.find((word, k) => k > 0 && !word.startsWith('-')) ?? meta.commandLine[0] ?? '';
  document.title = `memview — ${program.split('/').pop() || 'capture'} (pid ${meta.pid})`;
  // "/" jumps to the search box, as in many viewers.
  document.addEventListener('keydown', (e) => {
    if (e.key === '/' && document.activeElement?.tagName !== 'INPUT') { e.preventDefault(); searchBox.focus(); }
  });

  const label = (slot: number) => frameName(model, tree.frame[layout.node[slot]]);
  const initStart = performance.now();
  const flame = await (input.flame ?? prepareFlameView());
  timings.pixiInitMs = performance.now() - initStart;
  flame.attach(flameHost, {
    hover(slot, x, y) { showTooltip(slot, x, y); },
    zoomed() { renderCrumbs(); },
    selected() { /* the outline is drawn by the renderer */ },
  });

  function showTooltip(slot: number, x: number, y: number): void {
    if (slot < 0) { tooltip.style.display = 'none'; return; }
    const node = layout.node[slot];
    const frame = tree.frame[node];
    const total = layout.total;
    const bytes = tree.totalBytes[node], count = tree.totalCount[node];
    const value = state.metric === 'bytes' ? bytes : count;
    tooltip.replaceChildren(
      h('div', { className: 'mv-tt-name' }, frameName(model, frame)),
      h('div', { className: 'mv-tt-loc' }, frameLocation(model, frame) || (frame >= 0 ? frameKindNames[model.frames.kind[frame] as FrameKind] : frame === hiddenFramesFrame ? 'frames hidden by the toggles, with no shown caller' : '')),
      h('div', {}, `${formatBytes(bytes)} in ${formatCount(count)} allocation${count === 1 ? '' : 's'} — ${formatPercent(value, total)} of ${state.metric === 'bytes' ? formatBytes(total) : formatCount(total) + ' allocations'}`),
      h('div', {}, `own: ${formatBytes(tree.selfBytes[node])} in ${formatCount(tree.selfCount[node])}`));
    tooltip.style.display = 'block';
    const w = tooltip.offsetWidth, hgt = tooltip.offsetHeight;
    tooltip.style.left = `${Math.min(x + 14, window.innerWidth - w - 4)}px`;
    tooltip.style.top = `${y + 16 + hgt > window.innerHeight ? y - hgt - 8 : y + 16}px`;
  }

  function renderCrumbs(): void {
    clear(crumbs);
    const path = layout.length ? ancestry(layout, flame.zoomSlot) : [];
    path.forEach((slot, k) => {
      if (k > 0) crumbs.appendChild(document.createTextNode('›'));
      const b = h('button', { title: frameName(model, tree.frame[layout.node[slot]]) }, k === 0 ? `all (${state.metric === 'bytes' ? formatBytes(layout.total) : formatCount(layout.total)})` : label(slot));
      b.addEventListener('click', () => flame.zoomTo(slot));
      crumbs.appendChild(b);
    });
    if (flame.zoomSlot > 0) {
      const reset = h('button', { 'data-action': 'reset' }, 'reset zoom');
      reset.addEventListener('click', () => flame.zoomTo(0));
      crumbs.appendChild(reset);
    }
    if (result && state.search) {
      crumbs.appendChild(h('span', { className: 'mv-search-total', 'data-search-total': String(result.total) },
        `“${state.search}”: ${result.matchCount} match${result.matchCount === 1 ? '' : 'es'}, ${state.metric === 'bytes' ? formatBytes(result.total) : formatCount(result.total)} (${formatPercent(result.total, layout.total)})`));
    }
    if (layout.length === 0) crumbs.appendChild(h('span', {}, 'nothing to show in this view'));
  }

  function applySearch(): void {
    result = state.search ? searchLayout(model, tree, layout, state.search) : null;
    flame.setScene({ layout, fill: fillBySlot, label, matched: result ? result.matched : null, hoverSlot: -1, selectedSlot: -1 }, true);
    renderCrumbs();
  }


  // Big trees are laid out twice: first only the nodes wide enough to see at full width (a few
  // thousand, fast), for the first paint; the complete layout follows right after. Kept nodes have
  // the same positions in both, so the view does not move when the second one lands.
  const quickLayoutNodes = 100_000;
  let layoutGeneration = 0;

  function setLayout(next: FlameLayout, keepZoom: boolean): void {
    const previous = layout;
    const zoomed = keepZoom && previous && flame.zoomSlot > 0 ? flame.zoomSlot : -1;
    layout = next;
    fillBySlot = new Uint32Array(layout.length);
    for (let i = 0; i < layout.length; i++) {
      const f = tree.frame[layout.node[i]];
      fillBySlot[i] = fills[f < 0 ? model.frames.count : f];
    }
    result = state.search ? searchLayout(model, tree, layout, state.search) : null;
    flame.setScene({ layout, fill: fillBySlot, label, matched: result ? result.matched : null, hoverSlot: -1, selectedSlot: -1 }, keepZoom);
    if (zoomed >= 0) flame.zoomSlot = Math.max(0, hitTest(layout, previous.start[zoomed] + previous.width[zoomed] / 2, previous.depth[zoomed]));
    renderCrumbs();
  }

  function recompute(): void {
    const metrics = state.rangeViews ? state.rangeViews[state.options.view] : undefined;
    const t0 = performance.now();
    tree = buildViewTree(model, state.options, metrics);
    const t1 = performance.now();
    const total = state.metric === 'bytes' ? tree.totalBytes[0] : tree.totalCount[0];
    const quick = tree.count > quickLayoutNodes;
    const generation = ++layoutGeneration;
    setLayout(layoutFlame(tree, state.metric, quick ? total / 8192 : 0), false);
    timings.treeMs = t1 - t0;
    timings.layoutMs = performance.now() - t1;
    if (quick) {
      setTimeout(() => {
        if (generation !== layoutGeneration) return;
        const t2 = performance.now();
        setLayout(layoutFlame(tree, state.metric), true);
        timings.fullLayoutMs = performance.now() - t2;
        document.body.dataset.layout = 'full';
      }, 0);
    } else {
      document.body.dataset.layout = 'full';
    }
    note.textContent = (state.rangeViews && !metrics ? `${viewLabels[state.options.view]} is not available for a time range; this is the whole run. ` : '') + viewNote(state.options.view, model, !!metrics)
      + (tree.truncated ? ' The deepest call paths were cut short to keep this view under 4 million nodes; totals are exact.' : '')
      + (state.options.inverted ? ' Inverted: allocating functions on top, their callers below (callers of entries under 0.01% of the total are not split).' : '');
    tableStale = true;
    if (state.tab === 'table') refreshTable();
  }

  let tableStale = true;
  function refreshTable(): void {
    if (!tableStale) return;
    tableStale = false;
    table.setTree(tree, state.metric);
  }

  function update(patch: Partial<ViewOptions>): void {
    state.options = { ...state.options, ...patch };
    recompute();
  }

  // Answers come back asynchronously (from the engine's worker) and can overtake each other or a
  // later clear: only the answer to the latest request is shown.
  let rangeRequest = 0;
  async function setRange(range: [number, number] | null): Promise<void> {
    const request = ++rangeRequest;
    state.range = range;
    try {
      const views = range && rangeSource ? await rangeSource(range[0], range[1]) : null;
      if (request !== rangeRequest) return;
      state.rangeViews = views;
      if (state.rangeViews?.snappedMs) timeline.setRange(state.rangeViews.snappedMs);
      timeline.setMessage('');
    } catch (error) {
      if (request !== rangeRequest) return;
      state.rangeViews = null;
      timeline.setRange(null);
      timeline.setMessage(`time ranges are not available: ${error instanceof Error ? error.message : String(error)}`);
    }
    recompute();
  }

  function showTab(tab: 'flame' | 'table' | 'stats'): void {
    state.tab = tab;
    flamePanel.classList.toggle('mv-hidden', tab !== 'flame');
    table.element.classList.toggle('mv-hidden', tab !== 'table');
    stats.classList.toggle('mv-hidden', tab !== 'stats');
    for (const b of tabButtons) b.setAttribute('aria-selected', String(b.dataset.tab === tab));
    if (tab === 'flame') flame.requestRender();
    if (tab === 'table') refreshTable();
  }

  recompute();
  showTab('flame');
  flame.renderNow();
  requestAnimationFrame(() => performance.mark('memview:first-paint'));

  // A small handle for tests and benchmarks: read-only facts and the same actions a user has.
  const pixel = new Uint8Array(4);
  (window as unknown as { memview: unknown }).memview = {
    model,
    get layout() { return layout; },
    get tree() { return tree; },
    get zoomSlot() { return flame.zoomSlot; },
    get valueRange() { return flame.valueRange; },
    get searchTotal() { return result?.total ?? 0; },
    frameTimes: flame.frameTimes,
    flameView: flame,
    timings,
    drawnCounts: () => ({ ...flame.drawnCounts, drawMs: flame.lastDrawMs }),
    slotOfName(name: string) { for (let i = 0; i < layout.length; i++) if (label(i) === name) return i; return -1; },
    slotRect: (slot: number) => flame.slotRect(slot),
    zoomTo: (slot: number) => flame.zoomTo(slot),
    zoomBy: (f: number, anchor?: number) => flame.zoomBy(f, anchor),
    panBy: (dx: number, dy: number) => flame.panBy(dx, dy),
    renderNow: () => flame.renderNow(),
    /** Draws one frame and waits for the GPU to finish it; returns the milliseconds taken. */
    renderFrameSync: () => {
      const t0 = performance.now();
      flame.renderNow();
      const gl = (flame.app.renderer as unknown as { gl?: WebGL2RenderingContext }).gl;
      gl?.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, pixel); // waits until the frame is rasterised
      return performance.now() - t0;
    },
    setRange: (range: [number, number] | null) => { timeline.setRange(range); return setRange(range); },
    ready: true,
  };
  document.body.dataset.ready = 'true';
}
