// Memory over time: one sample per TIME record (the most tracked and heap bytes from it to the next
// TIME record, RSS from the RSS record that follows), decimated while reading into at most TIMELINE_MAX_BUCKETS
// buckets that each keep their lowest and highest sample, so short peaks and dips survive.
// When the buckets overflow, neighbours merge pairwise and each bucket takes twice the samples.
// Same rules as the reference reader's timeline-builder.ts, so both draw the same curve.
// A sample keeps its interval's high-water mark, not the state at its TIME record: the events
// after a TIME record carry its time, so the peak's time is the TIME record before it, and a peak
// freed before the next TIME record would otherwise show nowhere on the chart.

export const TIMELINE_MAX_BUCKETS: u32 = 1000;
const BUCKET_SIZE: usize = 96;
// A bucket: its lowest sample at 0, its highest at 40 (SAMPLE_* offsets), the sample count at 80.
export const BUCKET_LOWEST: usize = 0;
export const BUCKET_HIGHEST: usize = 40;
const BUCKET_SAMPLE_COUNT: usize = 80;
export const SAMPLE_TIME_MS: usize = 0;
export const SAMPLE_TRACKED: usize = 8;
export const SAMPLE_HEAP: usize = 16;
export const SAMPLE_RSS: usize = 24;
export const SAMPLE_SEQUENCE: usize = 32; // which sample this is, to tell "lowest is highest"

export let timelineBuckets: usize = 0;
export let timelineBucketCount: u32 = 0;
let samplesPerBucket: f64 = 1;
let sampleSequence: f64 = 0;
let lastRssBytes: f64 = 0;
let pending: bool = false;
let pendingTimeMs: f64 = 0;
let pendingTracked: f64 = 0;
let pendingHeap: f64 = 0;
let pendingRss: f64 = 0;
let pendingSequence: f64 = 0;

export function timelineInit(): void {
  timelineBuckets = heap.alloc(<usize>(TIMELINE_MAX_BUCKETS + 1) * BUCKET_SIZE);
  timelineBucketCount = 0;
  samplesPerBucket = 1;
  sampleSequence = 0;
  lastRssBytes = 0;
  pending = false;
}

@inline function bucketAt(index: u32): usize {
  return timelineBuckets + <usize>index * BUCKET_SIZE;
}

/** A TIME record: the sample it starts is completed by a following RSS record. */
export function timelineTime(timeMs: f64, trackedBytes: f64, heapBytes: f64): void {
  flush();
  pending = true;
  pendingTimeMs = timeMs;
  pendingTracked = trackedBytes;
  pendingHeap = heapBytes;
  pendingRss = lastRssBytes;
  pendingSequence = ++sampleSequence;
}

/** Tracked memory grew: the open sample keeps the highest figures until the next TIME record. */
@inline export function timelineObserveGrowth(trackedBytes: f64, heapBytes: f64): void {
  if (trackedBytes > pendingTracked) pendingTracked = trackedBytes;
  if (heapBytes > pendingHeap) pendingHeap = heapBytes;
}

export function timelineRss(rssBytes: f64): void {
  lastRssBytes = rssBytes;
  if (pending) pendingRss = rssBytes;
}

export function timelineFinish(): void {
  flush();
}

function writeSample(to: usize): void {
  store<f64>(to, pendingTimeMs, SAMPLE_TIME_MS);
  store<f64>(to, pendingTracked, SAMPLE_TRACKED);
  store<f64>(to, pendingHeap, SAMPLE_HEAP);
  store<f64>(to, pendingRss, SAMPLE_RSS);
  store<f64>(to, pendingSequence, SAMPLE_SEQUENCE);
}

function flush(): void {
  if (!pending) return;
  pending = false;
  if (timelineBucketCount > 0) {
    const last = bucketAt(timelineBucketCount - 1);
    if (load<f64>(last, BUCKET_SAMPLE_COUNT) < samplesPerBucket) {
      // The later sample replaces an extreme only when strictly beyond it.
      if (pendingTracked < load<f64>(last + BUCKET_LOWEST, SAMPLE_TRACKED)) writeSample(last + BUCKET_LOWEST);
      if (pendingTracked > load<f64>(last + BUCKET_HIGHEST, SAMPLE_TRACKED)) writeSample(last + BUCKET_HIGHEST);
      store<f64>(last, load<f64>(last, BUCKET_SAMPLE_COUNT) + 1, BUCKET_SAMPLE_COUNT);
      return;
    }
  }
  const bucket = bucketAt(timelineBucketCount);
  writeSample(bucket + BUCKET_LOWEST);
  writeSample(bucket + BUCKET_HIGHEST);
  store<f64>(bucket, 1, BUCKET_SAMPLE_COUNT);
  timelineBucketCount++;
  if (timelineBucketCount > TIMELINE_MAX_BUCKETS) halve();
}

/** Merges neighbouring buckets pairwise. */
function halve(): void {
  let merged: u32 = 0;
  for (let i: u32 = 0; i < timelineBucketCount; i += 2) {
    const target = bucketAt(merged);
    const earlier = bucketAt(i);
    if (target != earlier) memory.copy(target, earlier, BUCKET_SIZE);
    if (i + 1 < timelineBucketCount) {
      const later = bucketAt(i + 1);
      if (load<f64>(later + BUCKET_LOWEST, SAMPLE_TRACKED) < load<f64>(target + BUCKET_LOWEST, SAMPLE_TRACKED)) {
        memory.copy(target + BUCKET_LOWEST, later + BUCKET_LOWEST, 40);
      }
      if (load<f64>(later + BUCKET_HIGHEST, SAMPLE_TRACKED) > load<f64>(target + BUCKET_HIGHEST, SAMPLE_TRACKED)) {
        memory.copy(target + BUCKET_HIGHEST, later + BUCKET_HIGHEST, 40);
      }
      store<f64>(target, load<f64>(target, BUCKET_SAMPLE_COUNT) + load<f64>(later, BUCKET_SAMPLE_COUNT), BUCKET_SAMPLE_COUNT);
    }
    merged++;
  }
  timelineBucketCount = merged;
  samplesPerBucket *= 2;
}
