// Live bytes and counts per call-tree node, the running totals, and the per-node snapshot at the
// high-water mark of tracked memory, all in one pass.
//
// Copying every node at each new maximum would cost O(nodes) per event while memory grows. The
// snapshot is taken lazily instead: a new maximum only bumps `peakEpoch`; a node about to change
// whose stamp is older than the current epoch first saves its live figures as its peak figures.
// So a node's figures at the peak are its saved ones if it changed after the peak, else its live
// ones.
import { GrowableFloat64Array } from './growable-array.js';

export class PeakTracker {
  readonly liveBytes = new GrowableFloat64Array();
  readonly liveCount = new GrowableFloat64Array();
  private readonly savedPeakBytes = new GrowableFloat64Array();
  private readonly savedPeakCount = new GrowableFloat64Array();
  /** The epoch in which each node saved its figures; -1 (never) is stored as 0 with epochs from 1. */
  private readonly savedInEpoch = new GrowableFloat64Array();
  private peakEpoch = 1;

  trackedBytes = 0;
  heapBytes = 0;
  peakBytes = 0;
  peakHeapBytes = 0;
  /** Set when tracked memory first reaches a new maximum; the caller reads it to note the time. */
  reachedNewPeak = false;

  /** Adds (or with negative figures removes) live memory at `node`. */
  change(node: number, deltaBytes: number, deltaCount: number, isHeap: boolean): void {
    if (this.savedInEpoch.get(node) !== this.peakEpoch) {
      this.savedPeakBytes.set(node, this.liveBytes.get(node));
      this.savedPeakCount.set(node, this.liveCount.get(node));
      this.savedInEpoch.set(node, this.peakEpoch);
    }
    this.liveBytes.add(node, deltaBytes);
    this.liveCount.add(node, deltaCount);
    this.trackedBytes += deltaBytes;
    if (isHeap) {
      this.heapBytes += deltaBytes;
      if (this.heapBytes > this.peakHeapBytes) this.peakHeapBytes = this.heapBytes;
    }
    // Strictly greater: the peak is the first moment the maximum was reached.
    if (this.trackedBytes > this.peakBytes) {
      this.peakBytes = this.trackedBytes;
      this.peakEpoch++;
      this.reachedNewPeak = true;
    }
  }

  /** Live bytes of `node` at the peak. */
  peakBytesOf(node: number): number {
    return this.savedInEpoch.get(node) === this.peakEpoch ? this.savedPeakBytes.get(node) : this.liveBytes.get(node);
  }

  peakCountOf(node: number): number {
    return this.savedInEpoch.get(node) === this.peakEpoch ? this.savedPeakCount.get(node) : this.liveCount.get(node);
  }
}
