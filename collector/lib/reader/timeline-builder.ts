// The memory timeline: one sample per TIME record, decimated while reading so that a capture of
// any length ends with at most 2 × MAX_BUCKETS points. Each bucket keeps its lowest and its
// highest sample of tracked memory, so short peaks and dips survive decimation. A sample holds the
// most tracked and heap memory from its TIME record to the next: events carry the time of the TIME
// record before them, so that is where the peak's time points, and a peak freed before the next
// TIME record would otherwise show nowhere on the chart.
import type { Timeline } from '../../../viewer/model/types.js';

const MAX_BUCKETS = 1000;

interface Sample {
  timeMs: number;
  trackedBytes: number;
  heapBytes: number;
  rssBytes: number;
}

interface Bucket {
  lowest: Sample;
  highest: Sample;
  sampleCount: number;
}

export class TimelineBuilder {
  private readonly buckets: Bucket[] = [];
  private samplesPerBucket = 1;
  /** The sample of the last TIME record, completed by the RSS record that follows it. */
  private pending: Sample | undefined;
  private lastRssBytes = 0;

  time(timeMs: number, trackedBytes: number, heapBytes: number): void {
    this.flush();
    this.pending = { timeMs, trackedBytes, heapBytes, rssBytes: this.lastRssBytes };
  }

  /** Tracked memory grew: the open sample keeps the highest figures until the next TIME record. */
  grow(trackedBytes: number, heapBytes: number): void {
    if (this.pending === undefined) return;
    if (trackedBytes > this.pending.trackedBytes) this.pending.trackedBytes = trackedBytes;
    if (heapBytes > this.pending.heapBytes) this.pending.heapBytes = heapBytes;
  }

  rss(rssBytes: number): void {
    this.lastRssBytes = rssBytes;
    if (this.pending !== undefined) this.pending.rssBytes = rssBytes;
  }

  finish(): Timeline {
    this.flush();
    const points: Sample[] = [];
    for (const { lowest, highest } of this.buckets) {
      if (lowest === highest) points.push(lowest);
      else if (lowest.timeMs <= highest.timeMs) points.push(lowest, highest);
      else points.push(highest, lowest);
    }
    return {
      timeMs: Float64Array.from(points, (p) => p.timeMs),
      trackedBytes: Float64Array.from(points, (p) => p.trackedBytes),
      heapBytes: Float64Array.from(points, (p) => p.heapBytes),
      rssBytes: Float64Array.from(points, (p) => p.rssBytes),
    };
  }

  private flush(): void {
    if (this.pending === undefined) return;
    const sample = this.pending;
    this.pending = undefined;
    const last = this.buckets[this.buckets.length - 1];
    if (last !== undefined && last.sampleCount < this.samplesPerBucket) {
      this.buckets[this.buckets.length - 1] = combine(last, { lowest: sample, highest: sample, sampleCount: 1 });
    } else {
      this.buckets.push({ lowest: sample, highest: sample, sampleCount: 1 });
    }
    if (this.buckets.length > MAX_BUCKETS) this.halve();
  }

  /** Merges neighbouring buckets pairwise: twice the samples per bucket from now on. */
  private halve(): void {
    const merged: Bucket[] = [];
    for (let i = 0; i < this.buckets.length; i += 2) {
      const next = this.buckets[i + 1];
      merged.push(next === undefined ? this.buckets[i] : combine(this.buckets[i], next));
    }
    this.buckets.splice(0, this.buckets.length, ...merged);
    this.samplesPerBucket *= 2;
  }
}

/** `earlier` precedes `later` in time; on ties the earlier sample is kept. */
function combine(earlier: Bucket, later: Bucket): Bucket {
  return {
    lowest: later.lowest.trackedBytes < earlier.lowest.trackedBytes ? later.lowest : earlier.lowest,
    highest: later.highest.trackedBytes > earlier.highest.trackedBytes ? later.highest : earlier.highest,
    sampleCount: earlier.sampleCount + later.sampleCount,
  };
}
