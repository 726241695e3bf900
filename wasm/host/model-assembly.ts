// Turns the engine's figures (per site, per thread, totals, timeline buckets) and the host's
// dictionaries into a CaptureModel, following the reference reader's `finish`
// (collector/lib/reader/capture-aggregator.ts) step for step so both give the same model.
import type {
  AllocatorFigure, CaptureMeta, CaptureModel, CaptureStats, NodeMetrics, ThreadInfo, Timeline,
} from '../../viewer/model/types.js';
import { ModelStrings } from '../../collector/lib/reader/frame-resolver.js';
import { ALLOCATOR_NAMES, FLAG_NATIVE_FRAMES } from '../../collector/lib/reader/format.js';
import { topLocations } from '../../collector/lib/reader/top-locations.js';
import { shareUnderOptimizedCode } from '../../collector/lib/reader/optimized-share.js';
import type { DecoderExports } from './decoder-instance.js';
import type { DictionarySink } from './dictionary-sink.js';
import { parseCommandLine, threadLabel } from '../../collector/lib/reader/meta-text.js';

const NS_PER_MS = 1e6;
const TOP_LOCATIONS_IN_MODEL = 20;

// Site record layout (wasm/assembly/site-metrics.ts): 64 bytes, f64 fields unless noted.
const SITE_RECORD_BYTES = 64;
const SITE_LIVE_BYTES = 0;
const SITE_LIVE_COUNT = 8;
const SITE_ALLOCATED_BYTES = 16;
const SITE_ALLOCATED_COUNT = 24;
const SITE_TEMPORARY_BYTES = 32;
const SITE_TEMPORARY_COUNT = 40;
const SITE_PEAK_BYTES = 48;
const SITE_PEAK_COUNT = 56; // u32

// Timeline bucket layout (wasm/assembly/timeline.ts): lowest sample, highest sample, 5 f64 each.
const BUCKET_BYTES = 96;
const BUCKET_LOWEST = 0;
const BUCKET_HIGHEST = 40;
const SAMPLE_TIME_MS = 0;
const SAMPLE_TRACKED = 8;
const SAMPLE_HEAP = 16;
const SAMPLE_RSS = 24;
const SAMPLE_SEQUENCE = 32;

const SIZE_CLASSES = 65;

export interface CaptureEnd {
  formatVersion: number;
  flags: number;
  truncated: boolean;
  endTimeNs: number | undefined;
  temporaryThreshold: number;
  /** Data chunks read whole (CaptureMeta.dataChunks). */
  dataChunks: number;
  /** The trailer's checksum did not match its bytes (CaptureMeta.trailerDamaged). */
  trailerDamaged?: boolean;
}

/** Per-site figures copied out of wasm memory, so range queries and the model outlive `finish`. */
export interface SiteFigures {
  count: number;
  /** Provisional call-tree node of each site. */
  node: Int32Array;
}

/** The model, and the call-tree node of each engine site (for range queries). */
export function assembleModel(engine: DecoderExports, sink: DictionarySink, end: CaptureEnd): { model: CaptureModel; nodeOfSite: Int32Array } {
  engine.finish();
  const meta = buildMeta(engine, sink, end);
  const strings = new ModelStrings();
  const { frames, finalFrameOf, optimizedFrames } = sink.frameResolver.finish(
    (id) => threadLabel(id, threadNameOf(sink, id, meta)), strings);
  const { tree, finalNodeOf } = sink.callTree.finish(finalFrameOf);

  const siteCount = engine.sitesCount();
  const records = new DataView(engine.memory.buffer, engine.sitesPointer() >>> 0, siteCount * SITE_RECORD_BYTES);
  const nodeOfSite = new Int32Array(siteCount);
  for (let site = 0; site < siteCount; site++) nodeOfSite[site] = finalNodeOf[sink.siteNodes[site]];
  const emptyView = (): NodeMetrics => ({ bytes: new Float64Array(tree.count), count: new Float64Array(tree.count) });
  const views = { peak: emptyView(), leaks: emptyView(), temporary: emptyView(), allocated: emptyView() };
  for (let site = 0; site < siteCount; site++) {
    const node = finalNodeOf[sink.siteNodes[site]];
    const at = site * SITE_RECORD_BYTES;
    const f64 = (offset: number) => records.getFloat64(at + offset, true);
    views.peak.bytes[node] += f64(SITE_PEAK_BYTES);
    views.peak.count[node] += records.getUint32(at + SITE_PEAK_COUNT, true);
    views.leaks.bytes[node] += f64(SITE_LIVE_BYTES);
    views.leaks.count[node] += f64(SITE_LIVE_COUNT);
    views.temporary.bytes[node] += f64(SITE_TEMPORARY_BYTES);
    views.temporary.count[node] += f64(SITE_TEMPORARY_COUNT);
    views.allocated.bytes[node] += f64(SITE_ALLOCATED_BYTES);
    views.allocated.count[node] += f64(SITE_ALLOCATED_COUNT);
  }

  const top = topLocations(tree, frames, strings.list, views.allocated, TOP_LOCATIONS_IN_MODEL);
  const stats: CaptureStats = {
    totalAllocations: engine.totalAllocations(),
    totalBytesAllocated: engine.totalBytesAllocated(),
    peakBytes: engine.peakTrackedBytes(),
    peakHeapBytes: engine.peakHeapBytes(),
    peakTimeMs: engine.peakTimeMs(),
    leakedBytes: engine.liveHeapBytes() + engine.liveMappedBytes(),
    leakedAllocations: engine.liveHeapCount() + engine.liveMappings(),
    peakRssBytes: engine.peakRssBytes(),
    durationMs: meta.durationMs,
    allocators: allocatorFigures(engine),
    sizeHistogram: sizeHistogram(engine),
    topByBytes: top.byBytes,
    topByCount: top.byCount,
    threads: threadInfos(engine, sink, meta),
    truncated: end.truncated,
    endReason: meta.endReason,
    allocationsInOptimizedJs: shareUnderOptimizedCode(tree, optimizedFrames, views.allocated),
  };
  const model: CaptureModel = {
    modelVersion: 1,
    meta,
    strings: strings.list,
    frames,
    tree,
    views,
    temporaryThreshold: end.temporaryThreshold,
    timeline: timeline(engine),
    stats,
  };
  return { model, nodeOfSite };
}

function allocatorFigures(engine: DecoderExports): Record<string, AllocatorFigure> {
  const table = new Float64Array(engine.memory.buffer, engine.allocatorTablePointer() >>> 0, 32);
  const figures: Record<string, AllocatorFigure> = {};
  for (const [kind, name] of Object.entries(ALLOCATOR_NAMES)) {
    figures[name] = { count: table[Number(kind) * 2], bytes: table[Number(kind) * 2 + 1] };
  }
  return figures;
}

function sizeHistogram(engine: DecoderExports): CaptureStats['sizeHistogram'] {
  const counts = new Float64Array(engine.memory.buffer, engine.sizeHistogramPointer() >>> 0, SIZE_CLASSES);
  let first = 0;
  while (first < SIZE_CLASSES && counts[first] === 0) first++;
  let last = SIZE_CLASSES - 1;
  while (last >= first && counts[last] === 0) last--;
  const bins: CaptureStats['sizeHistogram'] = [];
  for (let bin = first; bin <= last; bin++) {
    bins.push({ minBytes: bin === 0 ? 0 : 2 ** (bin - 1), maxBytes: bin === 0 ? 0 : 2 ** bin - 1, count: counts[bin] });
  }
  return bins;
}

function threadInfos(engine: DecoderExports, sink: DictionarySink, meta: CaptureMeta): ThreadInfo[] {
  const allocationsByThread = new Map<number, number>();
  for (let thread = 0; thread < engine.threadsCount(); thread++) {
    allocationsByThread.set(engine.threadId(thread), engine.threadAllocationCount(thread));
  }
  return [...sink.threadOrder].map((id) => ({
    id, name: threadNameOf(sink, id, meta), allocations: allocationsByThread.get(id) ?? 0,
  }));
}

function timeline(engine: DecoderExports): Timeline {
  const bucketCount = engine.timelineCount();
  const buckets = new DataView(engine.memory.buffer, engine.timelinePointer() >>> 0, bucketCount * BUCKET_BYTES);
  const timeMs: number[] = [];
  const trackedBytes: number[] = [];
  const heapBytes: number[] = [];
  const rssBytes: number[] = [];
  const push = (sample: number) => {
    timeMs.push(buckets.getFloat64(sample + SAMPLE_TIME_MS, true));
    trackedBytes.push(buckets.getFloat64(sample + SAMPLE_TRACKED, true));
    heapBytes.push(buckets.getFloat64(sample + SAMPLE_HEAP, true));
    rssBytes.push(buckets.getFloat64(sample + SAMPLE_RSS, true));
  };
  for (let bucket = 0; bucket < bucketCount; bucket++) {
    const lowest = bucket * BUCKET_BYTES + BUCKET_LOWEST;
    const highest = bucket * BUCKET_BYTES + BUCKET_HIGHEST;
    if (buckets.getFloat64(lowest + SAMPLE_SEQUENCE, true) === buckets.getFloat64(highest + SAMPLE_SEQUENCE, true)) {
      push(lowest);
    } else if (buckets.getFloat64(lowest + SAMPLE_TIME_MS, true) <= buckets.getFloat64(highest + SAMPLE_TIME_MS, true)) {
      push(lowest);
      push(highest);
    } else {
      push(highest);
      push(lowest);
    }
  }
  return {
    timeMs: Float64Array.from(timeMs),
    trackedBytes: Float64Array.from(trackedBytes),
    heapBytes: Float64Array.from(heapBytes),
    rssBytes: Float64Array.from(rssBytes),
  };
}

function buildMeta(engine: DecoderExports, sink: DictionarySink, end: CaptureEnd): CaptureMeta {
  const text = (key: string): string => sink.metaValues.get(key) ?? '';
  const number = (key: string): number => {
    const value = Number(text(key));
    return Number.isFinite(value) ? value : 0;
  };
  return {
    formatVersion: end.formatVersion,
    pid: number('pid'),
    commandLine: parseCommandLine(text('commandLine')),
    nodeVersion: text('nodeVersion'),
    startTimeUnixMs: number('startTimeUnixMs'),
    durationMs: Math.max(engine.lastTimeNs(), end.endTimeNs ?? 0) / NS_PER_MS,
    pageSize: number('pageSize'),
    mainThreadId: number('mainThreadId'),
    nativeFrames: (end.flags & FLAG_NATIVE_FRAMES) !== 0,
    truncated: end.truncated,
    endReason: text('endReason'),
    framesNamedAfterwards: text('framesNamedAfterwards') === '1',
    dataChunks: end.dataChunks,
    ...(text('inlining') === 'off' ? { inliningOff: true } : {}),
    ...(end.trailerDamaged ? { trailerDamaged: true } : {}),
  };
}

function threadNameOf(sink: DictionarySink, threadId: number, meta: CaptureMeta): string {
  return sink.threadNames.get(threadId) ?? (threadId === meta.mainThreadId && threadId !== 0 ? 'main' : '');
}
