// The reference aggregation: consumes decoded records in file order and keeps the figures every
// view needs (peak, leaks, temporary, allocated), the timeline and the stats; `finish` turns them
// into a CaptureModel. Clarity over speed: this is the oracle the wasm decoder is tested against.
import type { CaptureMeta, CaptureModel, NodeMetrics, ThreadInfo, AllocatorFigure } from '../../../viewer/model/types.js';
import { CaptureDictionaries } from './capture-dictionaries.js';
import { PayloadError } from './capture-error.js';
import { ALLOCATOR_NAMES, FLAG_NATIVE_FRAMES, MAX_DEALLOCATOR_KIND, MAX_HEAP_ALLOCATOR_KIND, MMAP_KIND, REALLOC_KIND } from './format.js';
import { FrameResolver, ModelStrings } from './frame-resolver.js';
import { GrowableFloat64Array } from './growable-array.js';
import { LiveHeap } from './live-heap.js';
import { LiveMappings } from './live-mappings.js';
import { PeakTracker } from './peak-tracker.js';
import type { RecordSink } from './record-decoder.js';
import { SizeHistogram } from './size-histogram.js';
import { TemporaryCounter } from './temporary-counter.js';
import { TimelineBuilder } from './timeline-builder.js';
import { topLocations } from './top-locations.js';
import { shareUnderOptimizedCode } from './optimized-share.js';
import { parseCommandLine, threadLabel } from './meta-text.js';

const NS_PER_MS = 1e6;
const TOP_LOCATIONS_IN_MODEL = 20;

/** Per-node totals of one view while reading. */
class ViewFigures {
  readonly bytes = new GrowableFloat64Array();
  readonly count = new GrowableFloat64Array();

  add(node: number, bytes: number): void {
    this.bytes.add(node, bytes);
    this.count.add(node, 1);
  }
}

export interface CaptureEnd {
  formatVersion: number;
  flags: number;
  truncated: boolean;
  /** End time from the trailer, when there is one. */
  endTimeNs: number | undefined;
  /** Data chunks read whole (CaptureMeta.dataChunks). */
  dataChunks: number;
  /** The trailer's checksum did not match its bytes (CaptureMeta.trailerDamaged). */
  trailerDamaged?: boolean;
}

export class CaptureAggregator extends CaptureDictionaries implements RecordSink {
  private readonly peak = new PeakTracker();
  private readonly liveHeap = new LiveHeap();
  private readonly liveMappings = new LiveMappings();
  private readonly temporaryCounter: TemporaryCounter;
  private readonly temporary = new ViewFigures();
  private readonly allocated = new ViewFigures();
  private readonly timeline = new TimelineBuilder();
  private readonly sizeHistogram = new SizeHistogram();
  private readonly allocatorFigures = new Map<number, AllocatorFigure>();
  /** Allocations per thread, in order of first appearance. */
  private readonly threadAllocations = new Map<number, number>();
  private lastTimeNs = 0;
  private peakTimeNs = 0;
  private peakRssBytes = 0;

  constructor(readonly temporaryThreshold: number) {
    super();
    this.temporaryCounter = new TemporaryCounter(temporaryThreshold);
  }

  // --- memory events -----------------------------------------------------------------------

  alloc(threadId: number, kind: number, _address: number, sizeBytes: number, stackId: number, block: number): void {
    if (kind < 1 || kind > MAX_HEAP_ALLOCATOR_KIND) throw new PayloadError(`unknown allocator kind ${kind}`, -1);
    const node = this.callTree.nodeOf(stackId, threadId);
    this.allocateHeapBlock(threadId, kind, block, sizeBytes, node);
  }

  /** A block allocated before tracing began (block -1) is not tracked: its free changes nothing. */
  free(threadId: number, kind: number, _address: number, block: number): void {
    if (kind < 1 || kind > MAX_DEALLOCATOR_KIND) throw new PayloadError(`unknown deallocator kind ${kind}`, -1);
    if (block >= 0) this.releaseHeapBlock(threadId, block);
  }

  realloc(threadId: number, _oldAddress: number, _newAddress: number, sizeBytes: number, stackId: number, oldBlock: number, newBlock: number): void {
    const node = this.callTree.nodeOf(stackId, threadId);
    this.releaseHeapBlock(threadId, oldBlock);
    this.allocateHeapBlock(threadId, REALLOC_KIND, newBlock, sizeBytes, node);
  }

  map(threadId: number, _cause: number, address: number, lengthBytes: number, stackId: number): void {
    const node = this.callTree.nodeOf(stackId, threadId);
    // Pages already accessible are not made accessible twice: drop the old claim on them first.
    this.unmapRange(address, lengthBytes);
    this.liveMappings.map(address, lengthBytes, node);
    this.peak.change(node, lengthBytes, 1, false);
    this.noteGrowth();
    this.countAllocation(threadId, MMAP_KIND, lengthBytes, node);
  }

  unmap(_threadId: number, _cause: number, address: number, lengthBytes: number): void {
    this.unmapRange(address, lengthBytes);
  }

  private allocateHeapBlock(threadId: number, kind: number, block: number, sizeBytes: number, node: number): void {
    const threadAllocationIndex = this.temporaryCounter.nextAllocationIndex(threadId);
    this.liveHeap.add(block, { sizeBytes, node, threadId, threadAllocationIndex });
    this.peak.change(node, sizeBytes, 1, true);
    this.noteGrowth();
    this.countAllocation(threadId, kind, sizeBytes, node);
  }

  /** Frees live heap block `ordinal` (the record decoder has checked that it is live). */
  private releaseHeapBlock(threadId: number, ordinal: number): void {
    const block = this.liveHeap.remove(ordinal);
    if (block === undefined) return;
    this.peak.change(block.node, -block.sizeBytes, -1, true);
    if (this.temporaryCounter.isTemporary(block, threadId)) this.temporary.add(block.node, block.sizeBytes);
  }

  private unmapRange(address: number, lengthBytes: number): void {
    for (const piece of this.liveMappings.unmap(address, lengthBytes)) {
      this.peak.change(piece.node, -piece.bytes, piece.mappingGone ? -1 : 0, false);
    }
  }

  private countAllocation(threadId: number, kind: number, sizeBytes: number, node: number): void {
    this.allocated.add(node, sizeBytes);
    this.sizeHistogram.add(sizeBytes);
    const figure = this.allocatorFigures.get(kind) ?? { count: 0, bytes: 0 };
    figure.count++;
    figure.bytes += sizeBytes;
    this.allocatorFigures.set(kind, figure);
    this.threadAllocations.set(threadId, (this.threadAllocations.get(threadId) ?? 0) + 1);
  }

  private noteGrowth(): void {
    this.timeline.grow(this.peak.trackedBytes, this.peak.heapBytes);
    if (!this.peak.reachedNewPeak) return;
    this.peak.reachedNewPeak = false;
    this.peakTimeNs = this.lastTimeNs;
  }

  // --- context ---------------------------------------------------------------------------------

  thread(threadId: number): void {
    if (!this.threadAllocations.has(threadId)) this.threadAllocations.set(threadId, 0);
  }

  time(timeNs: number): void {
    this.lastTimeNs = timeNs;
    this.timeline.time(timeNs / NS_PER_MS, this.peak.trackedBytes, this.peak.heapBytes);
  }

  rss(rssBytes: number): void {
    this.peakRssBytes = Math.max(this.peakRssBytes, rssBytes);
    this.timeline.rss(rssBytes);
  }


  // --- the model -------------------------------------------------------------------------------

  finish(end: CaptureEnd): CaptureModel {
    const meta = this.buildMeta(end);
    const strings = new ModelStrings();
    const { frames, finalFrameOf, optimizedFrames } = this.frameResolver.finish((id) => threadLabel(id, this.threadNameOf(id, meta)), strings);
    const { tree, finalNodeOf } = this.callTree.finish(finalFrameOf);

    const view = (bytesOf: (node: number) => number, countOf: (node: number) => number): NodeMetrics => {
      const metrics: NodeMetrics = { bytes: new Float64Array(tree.count), count: new Float64Array(tree.count) };
      for (let node = 0; node < this.callTree.nodeCount; node++) {
        metrics.bytes[finalNodeOf[node]] += bytesOf(node);
        metrics.count[finalNodeOf[node]] += countOf(node);
      }
      return metrics;
    };
    const views = {
      peak: view((n) => this.peak.peakBytesOf(n), (n) => this.peak.peakCountOf(n)),
      leaks: view((n) => this.peak.liveBytes.get(n), (n) => this.peak.liveCount.get(n)),
      temporary: view((n) => this.temporary.bytes.get(n), (n) => this.temporary.count.get(n)),
      allocated: view((n) => this.allocated.bytes.get(n), (n) => this.allocated.count.get(n)),
    };

    const top = topLocations(tree, frames, strings.list, views.allocated, TOP_LOCATIONS_IN_MODEL);
    const allocators: Record<string, AllocatorFigure> = {};
    for (const [kind, name] of Object.entries(ALLOCATOR_NAMES)) {
      allocators[name] = this.allocatorFigures.get(Number(kind)) ?? { count: 0, bytes: 0 };
    }
    const threads: ThreadInfo[] = [...this.threadAllocations].map(([id, allocations]) => ({
      id, name: this.threadNameOf(id, meta), allocations,
    }));
    let totalAllocations = 0;
    let totalBytesAllocated = 0;
    for (const figure of this.allocatorFigures.values()) {
      totalAllocations += figure.count;
      totalBytesAllocated += figure.bytes;
    }

    return {
      modelVersion: 1,
      meta,
      strings: strings.list,
      frames,
      tree,
      views,
      temporaryThreshold: this.temporaryThreshold,
      timeline: this.timeline.finish(),
      stats: {
        totalAllocations,
        totalBytesAllocated,
        peakBytes: this.peak.peakBytes,
        peakHeapBytes: this.peak.peakHeapBytes,
        peakTimeMs: this.peakTimeNs / NS_PER_MS,
        leakedBytes: this.peak.trackedBytes,
        leakedAllocations: this.liveHeap.liveBlockCount + this.liveMappings.liveMappingCount,
        peakRssBytes: this.peakRssBytes,
        durationMs: meta.durationMs,
        allocators,
        sizeHistogram: this.sizeHistogram.bins(),
        topByBytes: top.byBytes,
        topByCount: top.byCount,
        threads,
        truncated: end.truncated,
        endReason: meta.endReason,
        allocationsInOptimizedJs: shareUnderOptimizedCode(tree, optimizedFrames, views.allocated),
      },
    };
  }

  /** A META value by key, or "" when the collector did not write it. */
  metaText(key: string): string {
    return this.metaValues.get(key) ?? '';
  }

  private threadNameOf(threadId: number, meta: CaptureMeta): string {
    return this.threadNames.get(threadId) ?? (threadId === meta.mainThreadId && threadId !== 0 ? 'main' : '');
  }

  private buildMeta(end: CaptureEnd): CaptureMeta {
    const number = (key: string): number => {
      const value = Number(this.metaText(key));
      return Number.isFinite(value) ? value : 0;
    };
    return {
      formatVersion: end.formatVersion,
      pid: number('pid'),
      commandLine: parseCommandLine(this.metaText('commandLine')),
      nodeVersion: this.metaText('nodeVersion'),
      startTimeUnixMs: number('startTimeUnixMs'),
      durationMs: Math.max(this.lastTimeNs, end.endTimeNs ?? 0) / NS_PER_MS,
      pageSize: number('pageSize'),
      mainThreadId: number('mainThreadId'),
      nativeFrames: (end.flags & FLAG_NATIVE_FRAMES) !== 0,
      truncated: end.truncated,
      endReason: this.metaText('endReason'),
      framesNamedAfterwards: this.metaText('framesNamedAfterwards') === '1',
      dataChunks: end.dataChunks,
      ...(this.metaText('inlining') === 'off' ? { inliningOff: true } : {}),
      ...(end.trailerDamaged ? { trailerDamaged: true } : {}),
    };
  }
}
