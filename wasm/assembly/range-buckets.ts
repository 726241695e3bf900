// Precomputed answers for time ranges picked later in the viewer ("what was live at the peak
// within [t0, t1]", "what was allocated within it and not freed by t1"), so a range query needs no
// re-read of the file. Time is cut into at most RANGE_BUCKETS buckets of equal width (a power of
// two ms, doubling and merging neighbours as the capture grows); queries are answered at bucket
// resolution.
//
// Peak within a range: each bucket keeps its own high-water mark and the per-site live figures at
// that moment, with the same lazy snapshot as the global peak (site-metrics.ts), so an event costs
// O(1). When a bucket closes, the sites changed since the previous bucket's snapshot are written
// to the range outbox as (site, bytes, count); the host keeps these deltas and rebuilds any
// bucket's snapshot by replaying them.
//
// Allocated and not freed: a block freed in a later bucket than the one it was allocated in adds
// its size to the tuple (site, allocation bucket, free bucket); blocks freed in their own bucket
// can never count and are not kept. What is still live at the end is read from the live blocks (live-blocks.ts).

import { siteCount, siteRecord, SITE_LIVE_BYTES, SITE_LIVE_COUNT } from "./site-metrics";

export const RANGE_BUCKETS: u32 = 256;
/**
 * Leak tuples use buckets LEAK_BUCKET_SHIFT times coarser (64 over the run): their number grows
 * with the square of the bucket count, and this keeps it under 2048 per site.
 */
export const LEAK_BUCKET_SHIFT: u32 = 2;

// Per-site range state, parallel to the site records.
const RANGE_SITE_SIZE: usize = 32;
const RANGE_SAVED_BYTES: usize = 0; // f64 live bytes at this bucket's latest high-water mark
const RANGE_SAVED_COUNT: usize = 8; // u32
const RANGE_STAMP: usize = 12; // u32 bucketEpoch the saved figures belong to
const RANGE_LISTED: usize = 16; // u32 list generation the site is in

let rangeSites: usize = 0;
let rangeSiteCapacity: u32 = 0;


// Sites changed since the previous snapshot (u32 each), and the list generation.
let changedSites: usize = 0;
let changedCount: u32 = 0;
let changedCapacity: u32 = 0;
let listGeneration: u32 = 1;

/** log2 of the bucket width in ms. */
export let rangeWidthShift: u32 = 0;
export let currentBucket: u32 = 0;
let bucketEpoch: u32 = 1;
let bucketMaxTracked: f64 = 0;
let bucketMaxTimeMs: f64 = 0;

// The range outbox: bucket records for the host, drained like the dictionary outbox.
export let rangeOutboxStart: usize = 0;
export let rangeOutboxLength: usize = 0;
let rangeOutboxCapacity: usize = 0;
export const RANGE_RECORD_BUCKET: u32 = 1; // u32 tag, u32 bucket, f64 max tracked, f64 time ms, u32 n, u32 0, then n × (u32 site, u32 count, f64 bytes)
export const RANGE_RECORD_HALVE: u32 = 2; // u32 tag, u32 0: buckets merged pairwise, width doubled

// Leak tuples: (site, allocation bucket, free bucket) → bytes, count. Every free of a block from
// an earlier bucket is appended to the tuple log, which is one segment per free bucket. The open
// segment is compacted (equal tuples summed) when its bucket ends and whenever it has doubled since
// its last compaction (and passed a million); when buckets merge, neighbouring segments merge. So
// the log stays within about twice the number of distinct tuples (at most sites × buckets² / 2),
// or a million, however long the run.
// A tuple is 16 bytes: u64 key (site << 32 | allocation bucket << 24 | free bucket << 16 | count),
// f64 bytes. Buckets fit 8 bits (leak buckets are below 64); a compaction sums equal tuples only
// while the count fits its 16 bits.
const TUPLE_SIZE: usize = 16;
const TUPLE_COUNT_MASK: u64 = 0xffff;
@inline function tupleAllocated(key: u64): u32 { return <u32>(key >>> 24) & 0xff; }
@inline function tupleFreed(key: u64): u32 { return <u32>(key >>> 16) & 0xff; }
let tuples: usize = 0;
let segmentAfterCompaction: u32 = 0;
/**
 * The log's segments, one per free bucket in order, the last one open: where each begins and its
 * free bucket. A closed segment is sorted by site and allocation bucket, with equal tuples summed,
 * so a halving merges neighbours two by two instead of sorting the whole log again.
 */
const MAX_SEGMENTS: i32 = <i32>(RANGE_BUCKETS >>> LEAK_BUCKET_SHIFT) + 1;
const segmentBegins = new StaticArray<u32>(MAX_SEGMENTS);
const segmentFreed = new StaticArray<u32>(MAX_SEGMENTS);
let segmentCount: i32 = 1;
/**
 * Where the open segment (the current free bucket's tuples) begins. Tuples before it have earlier
 * free buckets, so they can never merge with new ones: a compaction sorts only this segment, and
 * each tuple is sorted about once instead of with the whole log at every compaction.
 */
@inline function segmentStart(): u32 {
  return unchecked(segmentBegins[segmentCount - 1]);
}
const COMPACTION_MIN_TUPLES: u32 = 1 << 20;
export let tupleCount: u32 = 0;
let tupleCapacity: u32 = 0;

export function rangeInit(): void {
  rangeSiteCapacity = 1024;
  rangeSites = heap.alloc(<usize>rangeSiteCapacity * RANGE_SITE_SIZE);
  memory.fill(rangeSites, 0, <usize>rangeSiteCapacity * RANGE_SITE_SIZE);
  changedCapacity = 1024;
  changedSites = heap.alloc(<usize>changedCapacity * 4);
  changedCount = 0;
  listGeneration = 1;
  rangeWidthShift = 0;
  currentBucket = 0;
  bucketEpoch = 1;
  bucketMaxTracked = 0;
  bucketMaxTimeMs = 0;
  rangeOutboxCapacity = 1 << 16;
  rangeOutboxStart = heap.alloc(rangeOutboxCapacity);
  rangeOutboxLength = 0;
  tupleCapacity = 1024;
  tuples = heap.alloc(<usize>tupleCapacity * TUPLE_SIZE);
  tupleCount = 0;
  segmentAfterCompaction = 0;
  segmentCount = 1;
  mergeScratch = 0;
  mergeScratchTuples = 0;
  unchecked(segmentBegins[0] = 0);
  unchecked(segmentFreed[0] = 0);
}

/** Makes room for the range state of site `site` (called when a site is created). */
export function rangeSiteCreated(site: u32): void {
  if (site >= rangeSiteCapacity) {
    const old = rangeSiteCapacity;
    rangeSiteCapacity *= 2;
    rangeSites = heap.realloc(rangeSites, <usize>rangeSiteCapacity * RANGE_SITE_SIZE);
    memory.fill(rangeSites + <usize>old * RANGE_SITE_SIZE, 0, <usize>(rangeSiteCapacity - old) * RANGE_SITE_SIZE);
  }
}

@inline function rangeSite(site: u32): usize {
  return rangeSites + (<usize>site << 5);
}

/** A site's live figures are about to change: save them for this bucket's snapshot if needed. */
@inline export function rangeBeforeChange(site: u32, record: usize): void {
  const state = rangeSite(site);
  if (load<u32>(state, RANGE_STAMP) != bucketEpoch) {
    store<u32>(state, bucketEpoch, RANGE_STAMP);
    store<f64>(state, load<f64>(record, SITE_LIVE_BYTES), RANGE_SAVED_BYTES);
    store<u32>(state, <u32>load<f64>(record, SITE_LIVE_COUNT), RANGE_SAVED_COUNT);
    if (load<u32>(state, RANGE_LISTED) != listGeneration) {
      store<u32>(state, listGeneration, RANGE_LISTED);
      listChanged(site);
    }
  }
}

function listChanged(site: u32): void {
  if (changedCount == changedCapacity) {
    changedCapacity *= 2;
    changedSites = heap.realloc(changedSites, <usize>changedCapacity * 4);
  }
  store<u32>(changedSites + (<usize>changedCount << 2), site);
  changedCount++;
}

/** Tracked memory changed upwards at timeMs. */
@inline export function rangeObserveGrowth(tracked: f64, timeMs: f64): void {
  if (tracked > bucketMaxTracked) {
    bucketMaxTracked = tracked;
    bucketMaxTimeMs = timeMs;
    bucketEpoch++;
  }
}

/** The bucket of a time in ms. */
@inline export function rangeBucketOf(timeMs: u32): u32 {
  return timeMs >>> rangeWidthShift;
}

/** A TIME record: closes the current bucket when time has left it. */
export function rangeAdvance(timeMs: u32, tracked: f64): void {
  let index = rangeBucketOf(timeMs);
  if (index <= currentBucket) return;
  closeBucket();
  while (index >= RANGE_BUCKETS) {
    halve();
    index = rangeBucketOf(timeMs);
  }
  if ((index >>> LEAK_BUCKET_SHIFT) != (currentBucket >>> LEAK_BUCKET_SHIFT)) {
    // A new free bucket: its tuples start a new segment.
    compactTuples(segmentStart());
    segmentAfterCompaction = 0;
    unchecked(segmentBegins[segmentCount] = tupleCount);
    unchecked(segmentFreed[segmentCount] = index >>> LEAK_BUCKET_SHIFT);
    segmentCount++;
  }
  currentBucket = index;
  // The state at the start of a bucket is its first candidate for a high-water mark.
  bucketMaxTracked = tracked;
  bucketMaxTimeMs = <f64>timeMs;
  bucketEpoch++;
}

function reserveOutbox(bytes: usize): void {
  if (rangeOutboxLength + bytes <= rangeOutboxCapacity) return;
  let capacity = rangeOutboxCapacity * 2;
  while (capacity < rangeOutboxLength + bytes) capacity *= 2;
  rangeOutboxStart = heap.realloc(rangeOutboxStart, capacity);
  rangeOutboxCapacity = capacity;
}

/** Writes the current bucket's snapshot delta and starts a new list generation. */
export function closeBucket(): void {
  reserveOutbox(32 + <usize>changedCount * 16);
  let at = rangeOutboxStart + rangeOutboxLength;
  store<u32>(at, RANGE_RECORD_BUCKET);
  store<u32>(at, currentBucket, 4);
  store<f64>(at, bucketMaxTracked, 8);
  store<f64>(at, bucketMaxTimeMs, 16);
  store<u32>(at, changedCount, 24);
  store<u32>(at, 0, 28);
  at += 32;
  const nextGeneration = listGeneration + 1;
  let carried: u32 = 0;
  for (let i: u32 = 0; i < changedCount; i++) {
    const site = load<u32>(changedSites + (<usize>i << 2));
    const state = rangeSite(site);
    const record = siteRecord(site);
    let bytes: f64;
    let count: u32;
    if (load<u32>(state, RANGE_STAMP) == bucketEpoch) {
      // Changed after this bucket's high-water mark: report the saved value, and keep the site
      // listed, since its value now differs from this snapshot.
      bytes = load<f64>(state, RANGE_SAVED_BYTES);
      count = load<u32>(state, RANGE_SAVED_COUNT);
      store<u32>(state, nextGeneration, RANGE_LISTED);
      store<u32>(changedSites + (<usize>carried << 2), site);
      carried++;
    } else {
      bytes = load<f64>(record, SITE_LIVE_BYTES);
      count = <u32>load<f64>(record, SITE_LIVE_COUNT);
    }
    store<u32>(at, site);
    store<u32>(at, count, 4);
    store<f64>(at, bytes, 8);
    at += 16;
  }
  rangeOutboxLength = at - rangeOutboxStart;
  changedCount = carried;
  listGeneration = nextGeneration;
}

function halve(): void {
  reserveOutbox(8);
  store<u32>(rangeOutboxStart + rangeOutboxLength, RANGE_RECORD_HALVE);
  store<u32>(rangeOutboxStart + rangeOutboxLength, 0, 4);
  rangeOutboxLength += 8;
  rangeWidthShift++;
  currentBucket >>>= 1;
  compactTuples(segmentStart());
  mergeSegmentPairs();
  segmentAfterCompaction = tupleCount - segmentStart();
}

/**
 * Buckets merge two by two: re-keys every segment to the coarser width, merges the segments whose
 * free buckets now coincide, and drops the tuples whose two buckets now coincide (they can never
 * count). Each segment is sorted, so this is one merge pass over the log.
 */
function mergeSegmentPairs(): void {
  let written: u32 = 0;
  let kept: i32 = 0;
  for (let i: i32 = 0; i < segmentCount;) {
    const freed = unchecked(segmentFreed[i]) >>> 1;
    const firstBegin = unchecked(segmentBegins[i]);
    const firstEnd = i + 1 < segmentCount ? unchecked(segmentBegins[i + 1]) : tupleCount;
    let secondEnd = firstEnd;
    let next = i + 1;
    if (next < segmentCount && unchecked(segmentFreed[next]) >>> 1 == freed) {
      secondEnd = next + 1 < segmentCount ? unchecked(segmentBegins[next + 1]) : tupleCount;
      next++;
    }
    unchecked(segmentBegins[kept] = written);
    unchecked(segmentFreed[kept] = freed);
    kept++;
    written = mergeRekeyed(firstBegin, firstEnd, secondEnd, freed, written);
    i = next;
  }
  segmentCount = kept;
  tupleCount = written;
}

// The first run of a merge, set aside: the merged tuples are written over the log from the front,
// which can overtake the first run's unread tuples but never the second's. Kept between halvings.
let mergeScratch: usize = 0;
let mergeScratchTuples: u32 = 0;

/** The tuple key at the coarser width, or 0 when its two buckets coincide there. */
@inline function rekeyed(key: u64, freed: u32): u64 {
  const allocated = tupleAllocated(key) >>> 1;
  if (allocated == freed) return 0;
  return (key & 0xffffffff0000ffff) | (<u64>allocated << 24) | (<u64>freed << 16);
}

/**
 * Merges the sorted runs [first, second) and [second, secondEnd) of the log, re-keyed to free
 * bucket `freed`, into the log from index `to` on (at most `first`), summing equal tuples while
 * their count fits; returns the index after the last tuple written.
 */
function mergeRekeyed(first: u32, second: u32, secondEnd: u32, freed: u32, to: u32): u32 {
  const firstLength = second - first;
  if (firstLength > mergeScratchTuples) {
    if (mergeScratch != 0) heap.free(mergeScratch);
    mergeScratchTuples = max<u32>(firstLength, mergeScratchTuples * 2);
    mergeScratch = heap.alloc(<usize>mergeScratchTuples * TUPLE_SIZE);
  }
  memory.copy(mergeScratch, tuples + <usize>first * TUPLE_SIZE, <usize>firstLength * TUPLE_SIZE);
  let a: u32 = 0;
  let b = second;
  let written = to;
  while (a < firstLength || b < secondEnd) {
    // Order by site and allocation bucket (the key above the free bucket): the runs are sorted so.
    const takeA = a < firstLength && (b >= secondEnd ||
      (load<u64>(mergeScratch + <usize>a * TUPLE_SIZE) >>> 24) <= (load<u64>(tuples + <usize>b * TUPLE_SIZE) >>> 24));
    const from = takeA ? mergeScratch + <usize>(a++) * TUPLE_SIZE : tuples + <usize>(b++) * TUPLE_SIZE;
    const key = rekeyed(load<u64>(from), freed);
    if (key == 0) continue;
    if (written > to) {
      const into = tuples + <usize>(written - 1) * TUPLE_SIZE;
      const previous = load<u64>(into);
      const summed = (previous & TUPLE_COUNT_MASK) + (key & TUPLE_COUNT_MASK);
      if ((previous >>> 16) == (key >>> 16) && summed <= TUPLE_COUNT_MASK) {
        store<u64>(into, previous + (key & TUPLE_COUNT_MASK));
        store<f64>(into, load<f64>(into, 8) + load<f64>(from, 8), 8);
        continue;
      }
    }
    const target = tuples + <usize>written * TUPLE_SIZE;
    const bytes = load<f64>(from, 8);
    store<u64>(target, key);
    store<f64>(target, bytes, 8);
    written++;
  }
  return written;
}

/**
 * Sums the equal tuples of the log from index `firstTuple` on (the open segment: one free bucket)
 * into one entry each, sorted by site and allocation bucket. One counting pass puts each site's
 * tuples together (sites are dense numbers); then each site's run is summed per allocation bucket
 * (fewer than 64) in a small table. A hash index of the distinct tuples was tried first: with
 * thousands of sites it outgrows the cache and every tuple became a miss; a radix sort on site,
 * allocation bucket and free bucket took twice the passes over the log.
 */
function compactTuples(firstTuple: u32): void {
  const base = tuples + <usize>firstTuple * TUPLE_SIZE;
  const length = tupleCount - firstTuple;
  if (length == 0) {
    segmentAfterCompaction = 0;
    return;
  }
  const freedBucket = <u64>tupleFreed(load<u64>(base));
  // Where each site's tuples go: a count per site, then running sums.
  const sites = siteCount + 1;
  const starts = heap.alloc(<usize>sites << 2);
  memory.fill(starts, 0, <usize>sites << 2);
  for (let i: u32 = 0; i < length; i++) {
    const at = starts + (<usize>(load<u64>(base + <usize>i * TUPLE_SIZE) >>> 32) << 2);
    store<u32>(at, load<u32>(at) + 1);
  }
  let running: u32 = 0;
  for (let site: u32 = 0; site < sites; site++) {
    const at = starts + (<usize>site << 2);
    const here = load<u32>(at);
    store<u32>(at, running);
    running += here;
  }
  const scratch = heap.alloc(<usize>length * TUPLE_SIZE);
  for (let i: u32 = 0; i < length; i++) {
    const from = base + <usize>i * TUPLE_SIZE;
    const at = starts + (<usize>(load<u64>(from) >>> 32) << 2);
    const position = load<u32>(at);
    store<u32>(at, position + 1);
    copyTuple(scratch + <usize>position * TUPLE_SIZE, from);
  }
  heap.free(starts);
  // Each site's run, summed per allocation bucket, back into the log in bucket order.
  let written: u32 = 0;
  for (let i: u32 = 0; i < length;) {
    const site = load<u64>(scratch + <usize>i * TUPLE_SIZE) >>> 32;
    let present: u64 = 0;
    for (; i < length; i++) {
      const from = scratch + <usize>i * TUPLE_SIZE;
      const key = load<u64>(from);
      if ((key >>> 32) != site) break;
      const bucket = tupleAllocated(key);
      const sum = bucketSums + (<usize>bucket << 4);
      if ((present & (<u64>1 << bucket)) == 0) {
        present |= <u64>1 << bucket;
        store<f64>(sum, 0);
        store<f64>(sum, 0, 8);
      }
      store<f64>(sum, load<f64>(sum) + load<f64>(from, 8));
      store<f64>(sum, load<f64>(sum, 8) + <f64>(key & TUPLE_COUNT_MASK), 8);
    }
    while (present != 0) {
      const bucket = <u64>ctz(present);
      present &= present - 1;
      const sum = bucketSums + (<usize>bucket << 4);
      const prefix = (site << 32) | (bucket << 24) | (freedBucket << 16);
      // A count past 16 bits is split over several tuples; the bytes go with the first.
      let count = load<f64>(sum, 8);
      let bytes = load<f64>(sum);
      do {
        const part = min<f64>(count, <f64>TUPLE_COUNT_MASK);
        const target = base + <usize>written * TUPLE_SIZE;
        store<u64>(target, prefix | <u64>part);
        store<f64>(target, bytes, 8);
        written++;
        count -= part;
        bytes = 0;
      } while (count > 0);
    }
  }
  heap.free(scratch);
  tupleCount = firstTuple + written;
  segmentAfterCompaction = written;
}

/** Per allocation bucket (f64 bytes, f64 count) of the site being summed. */
const bucketSums: usize = memory.data(64 * 16);

/** One 16-byte load and store: memory.copy is a call into the runtime, too dear for a tuple. */
@inline function copyTuple(to: usize, from: usize): void {
  v128.store(to, v128.load(from));
}

/** Appends tuple `key` (count in its low bits) with `bytes`. */
@inline function appendTuple(key: u64, bytes: f64): void {
  if (tupleCount == tupleCapacity) growTuples();
  const tuple = tuples + <usize>tupleCount * TUPLE_SIZE;
  store<u64>(tuple, key);
  store<f64>(tuple, bytes, 8);
  tupleCount++;
}

function growTuples(): void {
  tupleCapacity *= 2;
  tuples = heap.realloc(tuples, <usize>tupleCapacity * TUPLE_SIZE);
}

/** Memory allocated at allocatedMs, `bytes` of it freed now (count 1 when that ends the allocation). */
@inline export function rangeNoteFree(site: u32, allocatedMs: u32, bytes: f64, count: u32): void {
  const allocatedBucket = rangeBucketOf(allocatedMs) >>> LEAK_BUCKET_SHIFT;
  const freedBucket = currentBucket >>> LEAK_BUCKET_SHIFT;
  if (allocatedBucket < freedBucket) noteFreeTuple((<u64>site << 32) | (<u64>allocatedBucket << 24) | (<u64>freedBucket << 16) | <u64>count, bytes);
}

/**
 * Appends a free to the tuple log as it happens (a sequential write, where a table of the current
 * bucket's tuples missed the cache once sites × buckets outgrew it); equal tuples are summed by
 * the next compaction of the current segment, which runs whenever the segment has doubled since
 * the last one, and when the free bucket changes.
 */
@inline function noteFreeTuple(key: u64, bytes: f64): void {
  appendTuple(key, bytes);
  const segment = tupleCount - segmentStart();
  if (segment > COMPACTION_MIN_TUPLES && segment > 2 * segmentAfterCompaction) compactTuples(segmentStart());
}

/** Adds every tuple allocated in leak buckets [first, last] and freed after last into per-site (bytes, count) f64 pairs. */
export function rangeAddFreedAfter(first: u32, last: u32, output: usize): void {
  for (let i: u32 = 0; i < tupleCount; i++) {
    const tuple = tuples + <usize>i * TUPLE_SIZE;
    const key = load<u64>(tuple);
    const allocated = tupleAllocated(key);
    const freed = tupleFreed(key);
    if (allocated < first || allocated > last || freed <= last) continue;
    const at = output + (<usize>(<u32>(key >>> 32)) << 4);
    store<f64>(at, load<f64>(at) + load<f64>(tuple, 8));
    store<f64>(at, load<f64>(at, 8) + <f64>(key & TUPLE_COUNT_MASK), 8);
  }
}

export function rangeOutboxClear(): void {
  rangeOutboxLength = 0;
}
