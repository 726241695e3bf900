// Synthetic capture models: a small one whose answers are known (for tests) and large seeded random
// ones (for benchmarks), so the viewer can be built and measured without a real capture.
import { FrameKind, type CaptureModel, type CaptureStats, type NodeMetrics } from './types.js';

export const MiB = 1024 * 1024;
export const KiB = 1024;

export interface FrameSpec { name: string; file: string; line: number; column: number; kind: FrameKind }
export interface NodeSpec { parent: number; frame: FrameSpec; peak?: [number, number]; leaks?: [number, number]; temporary?: [number, number]; allocated?: [number, number] }

/** A model whose call tree is `nodes` (node k + 1 is nodes[k]; node 0 is the root). */
export function modelFromSpecs(nodes: NodeSpec[], extra: Partial<CaptureModel['meta']> = {}): CaptureModel {
  const strings: string[] = [''];
  const stringIds = new Map<string, number>([['', 0]]);
  const intern = (s: string) => {
    let id = stringIds.get(s);
    if (id === undefined) { id = strings.length; strings.push(s); stringIds.set(s, id); }
    return id;
  };
  const frameIds = new Map<string, number>();
  const frameRows: FrameSpec[] = [];
  const n = nodes.length + 1;
  const parent = new Int32Array(n);
  const frame = new Int32Array(n);
  parent[0] = -1;
  frame[0] = -1;
  const views = {
    peak: metrics(n), leaks: metrics(n), temporary: metrics(n), allocated: metrics(n),
  };
  nodes.forEach((spec, k) => {
    const i = k + 1;
    const key = JSON.stringify(spec.frame);
    let f = frameIds.get(key);
    if (f === undefined) { f = frameRows.length; frameRows.push(spec.frame); frameIds.set(key, f); }
    parent[i] = spec.parent;
    frame[i] = f;
    for (const name of ['peak', 'leaks', 'temporary', 'allocated'] as const) {
      const v = spec[name];
      if (v) { views[name].bytes[i] = v[0]; views[name].count[i] = v[1]; }
    }
  });
  const fc = frameRows.length;
  const frames = {
    count: fc,
    functionName: Int32Array.from(frameRows, (r) => intern(r.name)),
    file: Int32Array.from(frameRows, (r) => intern(r.file)),
    line: Int32Array.from(frameRows, (r) => r.line),
    column: Int32Array.from(frameRows, (r) => r.column),
    kind: Uint8Array.from(frameRows, (r) => r.kind),
  };
  const sum = (a: Float64Array) => a.reduce((x, y) => x + y, 0);
  const peakBytes = sum(views.peak.bytes);
  const durationMs = 2000;
  const samples = 400;
  const timeMs = new Float64Array(samples);
  const trackedBytes = new Float64Array(samples);
  const heapBytes = new Float64Array(samples);
  const rssBytes = new Float64Array(samples);
  const peakAt = Math.floor(samples * 0.6);
  for (let s = 0; s < samples; s++) {
    timeMs[s] = (durationMs * s) / (samples - 1);
    const up = s <= peakAt ? s / peakAt : 1 - 0.6 * ((s - peakAt) / (samples - peakAt));
    trackedBytes[s] = Math.round(peakBytes * up);
    heapBytes[s] = Math.round(trackedBytes[s] * 0.7);
    rssBytes[s] = Math.round(trackedBytes[s] * 1.3 + 30 * MiB);
  }
  const threads = [];
  for (let i = 1; i < n; i++) if (parent[i] === 0) threads.push({ id: 1000 + i, name: frameRows[frame[i]].name, allocations: 0 });
  const stats: CaptureStats = {
    totalAllocations: sum(views.allocated.count),
    totalBytesAllocated: sum(views.allocated.bytes),
    peakBytes,
    peakHeapBytes: Math.round(peakBytes * 0.7),
    peakTimeMs: timeMs[peakAt],
    leakedBytes: sum(views.leaks.bytes),
    leakedAllocations: sum(views.leaks.count),
    peakRssBytes: Math.max(...rssBytes),
    durationMs,
    allocators: { malloc: { count: sum(views.allocated.count) * 0.6, bytes: sum(views.allocated.bytes) * 0.5 }, 'operator new': { count: sum(views.allocated.count) * 0.4, bytes: sum(views.allocated.bytes) * 0.3 }, mmap: { count: 12, bytes: sum(views.allocated.bytes) * 0.2 } },
    sizeHistogram: [
      { minBytes: 0, maxBytes: 64, count: 1200 },
      { minBytes: 64, maxBytes: 1024, count: 800 },
      { minBytes: 1024, maxBytes: 65536, count: 90 },
      { minBytes: 65536, maxBytes: 16 * MiB, count: 7 },
    ],
    topByBytes: [],
    topByCount: [],
    threads,
    truncated: false,
    endReason: 'exit',
  };
  return {
    modelVersion: 1,
    meta: {
      formatVersion: 1, pid: 4242, commandLine: ['node', '/app/server.js', '--secret-token=hunter2'], nodeVersion: 'v20.20.2',
      startTimeUnixMs: Date.UTC(2026, 10, 25, 12, 0, 0), durationMs, pageSize: 4096, mainThreadId: 1001,
      nativeFrames: true, truncated: false, endReason: 'exit', ...extra,
    },
    strings,
    frames,
    tree: { count: n, parent, frame },
    views,
    temporaryThreshold: 1,
    timeline: { timeMs, trackedBytes, heapBytes, rssBytes },
    stats,
  };
}

function metrics(n: number): NodeMetrics {
  return { bytes: new Float64Array(n), count: new Float64Array(n) };
}

export const xssName = '<img src=x onerror=alert(1)>';

/**
 * A capture with known answers. At the peak (17 MiB in all): 10 MiB under `load` (one
 * Buffer), 4 MiB under `parse` (node_modules), 1 MiB in a function named like an HTML injection
 * under node's module loader, 2 MiB on the libuv worker thread. Leaks: the 10 MiB Buffer and 512 KiB
 * of zlib. Temporary: 2 MiB in 100 allocations under `parse`.
 */
export function makeKnownModel(): CaptureModel {
  const js = (name: string, file: string, line: number, column: number, kind: FrameKind = FrameKind.UserJs): FrameSpec => ({ name, file, line, column, kind });
  const native = (name: string, lib: string): FrameSpec => ({ name, file: lib, line: 0, column: 0, kind: FrameKind.Native });
  return modelFromSpecs([
    /* 1 */ { parent: 0, frame: { name: 'main', file: '', line: 0, column: 0, kind: FrameKind.Thread } },
    /* 2 */ { parent: 1, frame: js('(top-level)', '/app/server.js', 1, 1) },
    /* 3 */ { parent: 2, frame: js('load', '/app/server.js', 10, 3), allocated: [1 * MiB, 10] },
    /* 4 */ { parent: 3, frame: native('node::Buffer::New', '/usr/bin/node'), peak: [10 * MiB, 1], leaks: [10 * MiB, 1], allocated: [10 * MiB, 1] },
    /* 5 */ { parent: 2, frame: js('parse', '/app/node_modules/fastparse/index.js', 5, 7, FrameKind.NodeModules) },
    /* 6 */ { parent: 5, frame: native('v8::ArrayBuffer::New', '/usr/bin/node'), peak: [4 * MiB, 4], temporary: [2 * MiB, 100], allocated: [6 * MiB, 104] },
    /* 7 */ { parent: 2, frame: js('Module._load', 'node:internal/modules/cjs/loader', 1100, 12, FrameKind.NodeInternal) },
    /* 8 */ { parent: 7, frame: js(xssName, '/app/<script>alert(2)</script>.js', 3, 9), peak: [1 * MiB, 2], allocated: [1 * MiB, 2] },
    /* 9 */ { parent: 0, frame: { name: 'libuv-worker', file: '', line: 0, column: 0, kind: FrameKind.Thread } },
    /* 10 */ { parent: 9, frame: native('uv__work_done', '/usr/lib/libuv.so.1') },
    /* 11 */ { parent: 10, frame: native('deflate', '/usr/lib/libz.so.1'), peak: [2 * MiB, 2], leaks: [512 * KiB, 1], allocated: [3 * MiB, 5] },
  ], { commandLine: ['node', '/app/server.js', '<b>not bold</b>', '--secret-token=hunter2'] });
}

/** Deterministic pseudo-random numbers (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A large random model: `nodeCount` call-tree nodes over 4 threads, depth up to ~60. 'skewed' sizes
 * are log-uniform (a few paths dominate, as in real captures); 'even' gives every other node a
 * similar size, the worst case for drawing (far more nodes are wide enough to draw).
 */
export function makeSyntheticModel(nodeCount: number, seed = 1, shape: 'skewed' | 'even' = 'skewed'): CaptureModel {
  const rand = random(seed);
  const frameCount = Math.max(16, Math.floor(nodeCount / 4));
  const kinds = [FrameKind.UserJs, FrameKind.UserJs, FrameKind.NodeModules, FrameKind.NodeInternal, FrameKind.Native, FrameKind.V8];
  const words = ['load', 'parse', 'render', 'fetch', 'compile', 'encode', 'decode', 'handle', 'Request', 'Buffer', 'alloc', 'stream', 'json', 'transform', 'emit', 'tick'];
  const strings: string[] = [''];
  const functionName = new Int32Array(frameCount + 4);
  const file = new Int32Array(frameCount + 4);
  const line = new Int32Array(frameCount + 4);
  const column = new Int32Array(frameCount + 4);
  const kind = new Uint8Array(frameCount + 4);
  const files = ['/app/server.js', '/app/lib/db.js', '/app/node_modules/express/lib/router.js', 'node:internal/modules/cjs/loader', '/usr/bin/node', '/usr/lib/libc.so.6'];
  for (const f of files) strings.push(f);
  for (let f = 0; f < frameCount; f++) {
    const k = kinds[Math.floor(rand() * kinds.length)];
    const name = `${words[Math.floor(rand() * words.length)]}${words[Math.floor(rand() * words.length)]}_${f}`;
    strings.push(k === FrameKind.Native ? `node::${name}` : name);
    functionName[f] = strings.length - 1;
    kind[f] = k;
    file[f] = 1 + (k === FrameKind.Native || k === FrameKind.V8 ? 4 : k === FrameKind.NodeModules ? 2 : k === FrameKind.NodeInternal ? 3 : Math.floor(rand() * 2));
    line[f] = k === FrameKind.Native ? 0 : 1 + Math.floor(rand() * 500);
    column[f] = k === FrameKind.Native ? 0 : 1 + Math.floor(rand() * 40);
  }
  const threadNames = ['main', 'worker-1', 'libuv-worker', 'V8 platform'];
  for (let t = 0; t < 4; t++) {
    strings.push(threadNames[t]);
    functionName[frameCount + t] = strings.length - 1;
    kind[frameCount + t] = FrameKind.Thread;
  }
  const parent = new Int32Array(nodeCount);
  const frame = new Int32Array(nodeCount);
  const depth = new Int32Array(nodeCount);
  parent[0] = -1;
  frame[0] = -1;
  const views = { peak: metrics(nodeCount), leaks: metrics(nodeCount), temporary: metrics(nodeCount), allocated: metrics(nodeCount) };
  for (let i = 1; i < nodeCount; i++) {
    if (i <= 4) { parent[i] = 0; frame[i] = frameCount + i - 1; depth[i] = 1; continue; }
    // Mostly extend a recent node (deep stacks), sometimes branch from an older one (wide trees).
    let p = rand() < 0.7 ? i - 1 - Math.floor(rand() * Math.min(i - 1, 3)) : 1 + Math.floor(rand() ** 0.5 * (i - 1));
    if (p < 1) p = 1;
    if (depth[p] > 60) p = parent[p] > 0 ? parent[parent[p]] : p;
    if (i < 40) p = 1 + Math.floor(rand() * 4); // spread the first levels over the threads
    parent[i] = p;
    depth[i] = depth[p] + 1;
    frame[i] = Math.floor(rand() * frameCount);
    if (rand() < 0.5) {
      const size = shape === 'even' ? 1000 + Math.floor(rand() * 1000) : Math.floor(16 * 2 ** (rand() * 16));
      const count = 1 + Math.floor(rand() * 8);
      views.allocated.bytes[i] = size * count * 3;
      views.allocated.count[i] = count * 3;
      views.peak.bytes[i] = size * count;
      views.peak.count[i] = count;
      if (rand() < 0.2) { views.leaks.bytes[i] = size; views.leaks.count[i] = 1; }
      if (rand() < 0.3) { views.temporary.bytes[i] = size * count; views.temporary.count[i] = count; }
    }
  }
  const base = makeKnownModel();
  const sum = (a: Float64Array) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]; return s; };
  const peakBytes = sum(views.peak.bytes);
  const scale = peakBytes / base.stats.peakBytes;
  const timeline = {
    timeMs: base.timeline.timeMs,
    trackedBytes: base.timeline.trackedBytes.map((v) => v * scale),
    heapBytes: base.timeline.heapBytes.map((v) => v * scale),
    rssBytes: base.timeline.rssBytes.map((v) => v * scale),
  };
  return {
    ...base,
    strings,
    frames: { count: frameCount + 4, functionName, file, line, column, kind },
    tree: { count: nodeCount, parent, frame },
    views,
    timeline,
    stats: {
      ...base.stats,
      peakBytes,
      leakedBytes: sum(views.leaks.bytes),
      leakedAllocations: sum(views.leaks.count),
      totalBytesAllocated: sum(views.allocated.bytes),
      totalAllocations: sum(views.allocated.count),
      threads: threadNames.map((name, t) => ({ id: 2000 + t, name, allocations: 0 })),
    },
  };
}

/**
 * One thread: `shallow` (1 MiB, one level under the thread) and a recursion `rec` `depth` levels
 * deep (1 MiB at its bottom), for scrolling.
 */
export function makeDeepModel(depth: number): CaptureModel {
  const nodes: NodeSpec[] = [
    { parent: 0, frame: { name: 'main', file: '', line: 0, column: 0, kind: FrameKind.Thread } },
    { parent: 1, frame: { name: 'shallow', file: '/app/deep.js', line: 2, column: 3, kind: FrameKind.UserJs }, peak: [MiB, 1], allocated: [MiB, 1] },
  ];
  for (let d = 0; d < depth; d++) {
    nodes.push({ parent: d === 0 ? 1 : nodes.length, frame: { name: 'rec', file: '/app/deep.js', line: 9, column: 5, kind: FrameKind.UserJs },
      ...(d === depth - 1 ? { peak: [MiB, 1] as [number, number], allocated: [MiB, 1] as [number, number] } : {}) });
  }
  return modelFromSpecs(nodes);
}
