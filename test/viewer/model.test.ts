import { describe, expect, it } from 'vitest';
import { makeDeepModel, makeKnownModel, makeSyntheticModel, MiB, KiB, xssName } from '../../viewer/model/synthetic.js';
import { buildViewTree, defaultViewOptions, subtreeTotals, threadNodes } from '../../viewer/model/view-tree.js';
import { ancestry, deepestVisibleRow, hitTest, layoutFlame } from '../../viewer/model/flame-layout.js';
import { searchLayout } from '../../viewer/model/search.js';
import { decodeEmbeddedPayload, decodePayload, encodePayload, fromBase64, toBase64 } from '../../viewer/model/payload-codec.js';
import { frameLocation, frameName, formatBytes } from '../../viewer/model/frame-text.js';
import type { CaptureModel } from '../../viewer/model/types.js';
import { functionTable, rowShare } from '../../viewer/model/function-table.js';
import { pruneModel } from '../../viewer/model/prune.js';
import { fromSparse, snapRange, toSparse } from '../../viewer/model/report-payload.js';
import { noCompleteChunkMessage } from '../../viewer/model/empty-capture.js';
import { labelBesideMarker } from '../../viewer/ui/chart-labels.js';
import { inliningNote } from '../../viewer/model/inlining-note.js';

const model = makeKnownModel();
const nameOf = (m: CaptureModel, tree: { frame: Int32Array }, node: number) => frameName(m, tree.frame[node]);

function childrenByName(tree: ReturnType<typeof buildViewTree>, m: CaptureModel, parent: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 1; i < tree.count; i++) if (tree.parent[i] === parent) out[nameOf(m, tree, i)] = tree.totalBytes[i];
  return out;
}

describe('view tree', () => {
  it('totals: the peak is 17 MiB, of which 15 MiB on the main thread', () => {
    const tree = buildViewTree(model, defaultViewOptions);
    expect(tree.totalBytes[0]).toBe(17 * MiB);
    expect(childrenByName(tree, model, 0)).toEqual({ 'thread main': 15 * MiB, 'thread libuv-worker': 2 * MiB });
  });

  it('subtree totals add children into parents', () => {
    expect(Array.from(subtreeTotals(Int32Array.from([-1, 0, 1, 1]), Float64Array.from([1, 2, 3, 4])))).toEqual([10, 9, 3, 4]);
  });

  it('merging threads puts every thread\'s frames right under the root', () => {
    const tree = buildViewTree(model, { ...defaultViewOptions, mergeThreads: true });
    expect(childrenByName(tree, model, 0)).toEqual({ '(top-level)': 15 * MiB, uv__work_done: 2 * MiB });
    expect(tree.totalBytes[0]).toBe(17 * MiB);
  });

  it('picking a thread keeps only its subtree', () => {
    const worker = threadNodes(model).find((t) => t.name === 'libuv-worker')!;
    const tree = buildViewTree(model, { ...defaultViewOptions, threadNode: worker.node });
    expect(tree.totalBytes[0]).toBe(2 * MiB);
  });

  it('hiding node internals gives their bytes to the caller\'s subtree, not away', () => {
    const tree = buildViewTree(model, { ...defaultViewOptions, hideInternals: true });
    const names = new Set(Array.from({ length: tree.count }, (_, i) => nameOf(model, tree, i)));
    expect(names.has('Module._load')).toBe(false);
    expect(names.has(xssName)).toBe(true);
    expect(tree.totalBytes[0]).toBe(17 * MiB);
  });

  it('hiding native frames moves the 10 MiB Buffer onto `load` itself', () => {
    const tree = buildViewTree(model, { ...defaultViewOptions, hideNative: true });
    const load = Array.from({ length: tree.count }, (_, i) => i).find((i) => nameOf(model, tree, i) === 'load')!;
    expect(tree.selfBytes[load]).toBe(10 * MiB);
  });

  it('the inverted tree starts with the allocating frames', () => {
    const tree = buildViewTree(model, { ...defaultViewOptions, inverted: true });
    expect(childrenByName(tree, model, 0)).toEqual({ 'node::Buffer::New': 10 * MiB, 'v8::ArrayBuffer::New': 4 * MiB, [xssName]: 1 * MiB, deflate: 2 * MiB });
    expect(tree.totalBytes[0]).toBe(17 * MiB);
  });

  it('views: leaks are 10.5 MiB, temporary 2 MiB in 100 allocations', () => {
    expect(buildViewTree(model, { ...defaultViewOptions, view: 'leaks' }).totalBytes[0]).toBe(10 * MiB + 512 * KiB);
    const temporary = buildViewTree(model, { ...defaultViewOptions, view: 'temporary' });
    expect(temporary.totalBytes[0]).toBe(2 * MiB);
    expect(temporary.totalCount[0]).toBe(100);
  });
});

describe('flame layout', () => {
  const tree = buildViewTree(model, defaultViewOptions);
  const layout = layoutFlame(tree, 'bytes');

  it('is a preorder, widest child first, with subtree ends', () => {
    const names = Array.from(layout.node, (n) => nameOf(model, tree, n));
    expect(names).toEqual(['all', 'thread main', '(top-level)', 'load', 'node::Buffer::New', 'parse', 'v8::ArrayBuffer::New', 'Module._load', xssName, 'thread libuv-worker', 'uv__work_done', 'deflate']);
    expect(layout.subtreeEnd[1]).toBe(9);
    expect(layout.start[9]).toBe(15 * MiB);
    expect(layout.maxDepth).toBe(4);
  });

  it('leaves out nodes worth nothing in the chosen metric', () => {
    const leaks = layoutFlame(buildViewTree(model, { ...defaultViewOptions, view: 'leaks' }), 'bytes');
    expect(leaks.length).toBe(8);
  });

  it('hit-tests a value and a row to the node drawn there', () => {
    expect(nameOf(model, tree, layout.node[hitTest(layout, 11 * MiB, 3)])).toBe('parse');
    expect(nameOf(model, tree, layout.node[hitTest(layout, 16 * MiB, 2)])).toBe('uv__work_done');
    expect(hitTest(layout, 16 * MiB, 4)).toBe(-1);
    expect(ancestry(layout, 4).map((s) => nameOf(model, tree, layout.node[s]))).toEqual(['all', 'thread main', '(top-level)', 'load', 'node::Buffer::New']);
  });

  it('lays out a million nodes in well under a few seconds', { timeout: 60_000 }, () => {
    const big = makeSyntheticModel(1_000_000);
    const t0 = performance.now();
    const bigLayout = layoutFlame(buildViewTree(big, defaultViewOptions), 'bytes');
    expect(performance.now() - t0).toBeLessThan(20_000); // generous: CI machines are shared
    expect(bigLayout.length).toBeGreaterThan(400_000);
    for (let i = 1; i < 1000; i++) expect(bigLayout.start[i]).toBeGreaterThanOrEqual(0);
  });
});

describe('search', () => {
  const tree = buildViewTree(model, defaultViewOptions);
  const layout = layoutFlame(tree, 'bytes');
  it('counts what the matches account for once, even when matches nest', () => {
    const result = searchLayout(model, tree, layout, 'New');
    expect(result.matchCount).toBe(2);
    expect(result.total).toBe(14 * MiB);
    const nested = searchLayout(model, tree, layout, 'server.js'); // (top-level), load, and load's caller chain
    expect(nested.total).toBe(15 * MiB);
  });
  it('matches file names too, case-insensitively', () => {
    expect(searchLayout(model, tree, layout, 'FASTPARSE').total).toBe(4 * MiB);
  });
});

describe('text', () => {
  it('formats locations and sizes', () => {
    expect(frameLocation(model, model.tree.frame[3])).toBe('/app/server.js:10:3');
    expect(frameLocation(model, model.tree.frame[4])).toBe('/usr/bin/node');
    expect(formatBytes(10 * MiB)).toBe('10.0 MiB');
    expect(formatBytes(512)).toBe('512 B');
  });
});

describe('payload codec', () => {
  it('round-trips a model through deflate and base64', async () => {
    const big = makeSyntheticModel(20_000, 7);
    const text = toBase64(await encodePayload({ model: big, title: 'x' }));
    const back = await decodePayload<{ model: CaptureModel; title: string }>(fromBase64(text));
    expect(back.title).toBe('x');
    expect(back.model.tree.parent).toEqual(big.tree.parent);
    expect(back.model.views.peak.bytes).toEqual(big.views.peak.bytes);
    expect(back.model.timeline.trackedBytes).toEqual(big.timeline.trackedBytes);
    expect(back.model.frames.kind).toEqual(big.frames.kind);
    expect(back.model.strings).toEqual(big.strings);
  });
  it('says a report is damaged or incomplete when its embedded data is cut, not base64, or garbled', async () => {
    const text = toBase64(await encodePayload({ model: makeSyntheticModel(2_000, 3), title: 'x' }));
    expect((await decodeEmbeddedPayload<{ title: string }>(text)).title).toBe('x');
    const garbled = await encodePayload({ model: makeSyntheticModel(2_000, 3), title: 'x' });
    const damaged = {
      cut: text.slice(0, Math.floor(text.length / 2)),
      notBase64: text.slice(0, 1000) + '<p>§</p>' + text.slice(1000),
      garbled: toBase64(garbled.map((byte, i) => (i > 40 && i % 97 === 0 ? byte ^ 0x55 : byte))),
      empty: 'AAAA',
    };
    for (const [how, damagedText] of Object.entries(damaged)) {
      const error = await decodeEmbeddedPayload(damagedText).then(() => null, (e: Error) => e);
      expect(error?.message, how).toMatch(/^this report file is damaged or incomplete \(.+\); generate it again with memview report$/);
    }
  });
  it('base64 matches node\'s', () => {
    for (const n of [0, 1, 2, 3, 4, 5, 100]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37) & 255);
      expect(toBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
      expect(Array.from(fromBase64(toBase64(bytes)))).toEqual(Array.from(bytes));
    }
  });
});

describe('quick layout', () => {
  it('keeps the wide nodes at exactly their places in the full layout', () => {
    const big = makeSyntheticModel(50_000, 3);
    const tree = buildViewTree(big, defaultViewOptions);
    const full = layoutFlame(tree, 'bytes');
    const quick = layoutFlame(tree, 'bytes', full.total / 1000);
    expect(quick.length).toBeLessThan(full.length / 5);
    const fullSlot = new Map<number, number>();
    for (let i = 0; i < full.length; i++) fullSlot.set(full.node[i], i);
    for (let i = 0; i < quick.length; i++) {
      const j = fullSlot.get(quick.node[i])!;
      expect(quick.start[i]).toBe(full.start[j]);
      expect(quick.depth[i]).toBe(full.depth[j]);
    }
  });
});

describe('function table', () => {
  it('gives each function its own and total bytes, counting recursion once', () => {
    // root → a → b → a (recursive) with 1 MiB allocated in the inner a and 2 MiB in b.
    const tree = {
      count: 4, parent: Int32Array.from([-1, 0, 1, 2]), frame: Int32Array.from([-1, 0, 1, 0]),
      selfBytes: Float64Array.from([0, 0, 2 * MiB, 1 * MiB]), selfCount: Float64Array.from([0, 0, 2, 1]),
      totalBytes: Float64Array.from([3 * MiB, 3 * MiB, 3 * MiB, 1 * MiB]), totalCount: Float64Array.from([3, 3, 3, 1]),
    };
    const rows = new Map(functionTable(tree).map((r) => [r.frame, r]));
    expect(rows.get(0)).toMatchObject({ ownBytes: 1 * MiB, totalBytes: 3 * MiB, ownCount: 1, totalCount: 3 });
    expect(rows.get(1)).toMatchObject({ ownBytes: 2 * MiB, totalBytes: 3 * MiB });
  });

  it('gives a row\'s share of the total in the measure the width is set to', () => {
    // root → a (1 MiB in 1 allocation) and root → b (3 MiB in 99 allocations).
    const tree = {
      count: 3, parent: Int32Array.from([-1, 0, 0]), frame: Int32Array.from([-1, 0, 1]),
      selfBytes: Float64Array.from([0, 1 * MiB, 3 * MiB]), selfCount: Float64Array.from([0, 1, 99]),
      totalBytes: Float64Array.from([4 * MiB, 1 * MiB, 3 * MiB]), totalCount: Float64Array.from([100, 1, 99]),
    };
    const a = functionTable(tree).find((r) => r.frame === 0)!;
    expect(rowShare(a, tree, 'bytes')).toEqual({ part: 1 * MiB, whole: 4 * MiB });
    expect(rowShare(a, tree, 'count')).toEqual({ part: 1, whole: 100 });
  });
});

describe('pruning for the report budget', () => {
  it('folds small call paths into their callers and keeps every total', () => {
    const big = makeSyntheticModel(30_000, 5);
    const pruned = pruneModel(big, 1e-3);
    expect(pruned.tree.count).toBeLessThan(big.tree.count / 4);
    for (const view of ['peak', 'leaks', 'temporary', 'allocated'] as const) {
      const before = buildViewTree(big, { ...defaultViewOptions, view });
      const after = buildViewTree(pruned, { ...defaultViewOptions, view });
      expect(after.totalBytes[0]).toBe(before.totalBytes[0]);
      expect(after.totalCount[0]).toBe(before.totalCount[0]);
    }
    for (let i = 1; i < pruned.tree.count; i++) expect(pruned.tree.parent[i]).toBeLessThan(i);
    expect(pruned.strings.length).toBeLessThan(big.strings.length);
  });
});

describe('temporal ranges', () => {
  it('a selection snaps outwards to the nearest precomputed cuts', () => {
    const metrics = toSparse({ bytes: Float64Array.from([0, 5, 0]), count: Float64Array.from([0, 1, 0]) });
    expect(Array.from(metrics.node)).toEqual([1]);
    expect(Array.from(fromSparse(metrics, 3).bytes)).toEqual([0, 5, 0]);
    const ranges = [];
    for (let from = 0; from < 4; from++) for (let to = from + 1; to <= 4; to++) ranges.push({ from, to, peak: metrics, leaks: metrics });
    const temporal = { boundsMs: Float64Array.from([0, 10, 20, 30, 40]), ranges };
    expect(snapRange(temporal, 12, 18)).toMatchObject({ from: 1, to: 2 });
    expect(snapRange(temporal, 10, 20)).toMatchObject({ from: 1, to: 2 });
    expect(snapRange(temporal, 5, 35)).toMatchObject({ from: 0, to: 4 });
    expect(snapRange(temporal, 39, 40)).toMatchObject({ from: 3, to: 4 });
  });
});

describe('hidden frames with nothing shown above them', () => {
  it('are gathered in a "(hidden frames)" node under their thread, callees staying under the thread', () => {
    const tree = buildViewTree(model, { ...defaultViewOptions, hideNative: true });
    const names = (parent: number) => Object.keys(childrenByName(tree, model, parent)).sort();
    const worker = Array.from({ length: tree.count }, (_, i) => i).find((i) => nameOf(model, tree, i) === 'thread libuv-worker')!;
    expect(names(worker)).toEqual(['(hidden frames)']);
    expect(childrenByName(tree, model, worker)['(hidden frames)']).toBe(2 * MiB);
    const inverted = buildViewTree(model, { ...defaultViewOptions, hideNative: true, inverted: true });
    expect(childrenByName(inverted, model, 0)['(hidden frames)']).toBe(2 * MiB);
    expect(inverted.totalBytes[0]).toBe(17 * MiB);
  });
});

describe('inverted tree of a huge capture', () => {
  it('keeps every total exact and stays small by not splitting the tiniest entries', () => {
    const big = makeSyntheticModel(200_000, 11);
    const straight = buildViewTree(big, defaultViewOptions);
    const inverted = buildViewTree(big, { ...defaultViewOptions, inverted: true });
    expect(inverted.totalBytes[0]).toBe(straight.totalBytes[0]);
    expect(inverted.totalCount[0]).toBe(straight.totalCount[0]);
    expect(inverted.count).toBeLessThan(straight.count * 2);
    for (let i = 1; i < inverted.count; i++) expect(inverted.parent[i]).toBeLessThan(i);
  });
});

describe('a capture with no complete chunk', () => {
  it('is said to hold nothing, with where it was cut; a complete or older model is not', () => {
    const meta = { ...model.meta, truncated: true, dataChunks: 0 };
    expect(noCompleteChunkMessage(meta, 'cut.bin', 30000)).toMatch(/^cut\.bin holds no complete chunk of events \(it was cut at byte 30,000, before its first chunk ended\)/);
    expect(noCompleteChunkMessage(meta)).toMatch(/^This capture holds no complete chunk of events \(it was cut, before/);
    expect(noCompleteChunkMessage({ ...meta, dataChunks: 1 })).toBeNull();
    expect(noCompleteChunkMessage({ ...meta, truncated: false })).toBeNull(); // ended properly, allocated nothing
    expect(noCompleteChunkMessage({ ...meta, dataChunks: undefined })).toBeNull(); // a model made before chunks were counted
  });
});

describe('scroll depth', () => {
  it('a range over a shallow frame reaches only its rows, not the whole tree\'s depth', () => {
    const deep = makeDeepModel(100);
    const layout = layoutFlame(buildViewTree(deep, defaultViewOptions), 'bytes');
    expect(layout.maxDepth).toBe(101); // thread, then 100 × rec
    let shallow = -1;
    for (let i = 0; i < layout.length; i++) if (frameName(deep, deep.tree.frame[layout.node[i]]) === 'shallow') shallow = i;
    const [start, end] = [layout.start[shallow], layout.start[shallow] + layout.width[shallow]];
    expect(deepestVisibleRow(layout, start, end, 0)).toBe(2);
    expect(deepestVisibleRow(layout, 0, layout.total, 0)).toBe(101);
    // Nodes narrower than the smallest width shown do not count: only the 2 MiB thread is wider than 1.5 MiB.
    expect(deepestVisibleRow(layout, 0, layout.total, 1.5 * MiB)).toBe(1);
  });
});

describe('chart labels', () => {
  // A plot from x = 64 to x = 1268, and a label 25 px wide.
  const inside = (x: number) => x >= 64 && x + 25 <= 1268;
  it('the peak\'s label is beside its marker, on the right when it fits there', () => {
    expect(labelBesideMarker(600, 25, 64, 1268)).toBe(603);
  });
  it('a peak at the end of the run has its label on the left of the marker, whole', () => {
    const x = labelBesideMarker(1268, 25, 64, 1268);
    expect(x).toBe(1268 - 3 - 25);
    expect(inside(x)).toBe(true);
    expect(inside(labelBesideMarker(1250, 25, 64, 1268))).toBe(true);
  });
  it('stays inside the plot at the start of the run and in a plot barely wider than the label', () => {
    expect(labelBesideMarker(64, 25, 64, 1268)).toBe(67);
    expect(labelBesideMarker(70, 25, 64, 90)).toBe(64);
  });
});

describe('the inlining note', () => {
  it('is shown from 10% of the allocations under optimized JavaScript, unless inlining was off', () => {
    expect(inliningNote({ allocationsInOptimizedJs: 0.35 }, {})).toMatch(/^35% of the allocations were made under optimized JavaScript.*--no-inlining/);
    expect(inliningNote({ allocationsInOptimizedJs: 0.35 }, { inliningOff: true })).toBeUndefined();
    expect(inliningNote({ allocationsInOptimizedJs: 0.05 }, {})).toBeUndefined();
    expect(inliningNote({}, {})).toBeUndefined();  // a model from before the figure existed
  });
});
