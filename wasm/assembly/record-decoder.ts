// The single streaming pass: decodes one chunk's records and feeds every accumulator (live
// allocations, mapped ranges, site metrics with the lazy peak snapshot, temporary detection,
// timeline, totals). Dictionary records are checked and handed to the host through the outbox.
// Event semantics follow the reference reader (collector/lib/reader/capture-aggregator.ts)
// exactly: the differential test holds both to the same model.
//
// The raw payload is followed by READ_SLACK zero bytes, so a record is decoded without bounds
// checks and checked once at its end: a varint stops at the first zero byte, so nothing is read
// past the slack, and a record that ran past the payload is reported as cut short.

import * as format from "./format";
import {
  ERROR_BAD_FIELD, ERROR_BAD_STACK_PARENT, ERROR_BAD_STRING_REF, ERROR_LIVE_SET_TOO_LARGE, ERROR_NONE,
  ERROR_RECORD_TRUNCATED, ERROR_UNKNOWN_BLOCK, ERROR_ADDRESS_SECTION, ERROR_SIZE_SECTION, ERROR_SCHEDULE, ERROR_UNKNOWN_STACK, ERROR_VARINT_TOO_LONG, ERROR_ZERO_RECORD, setErrorLocation,
} from "./errors";
import { liveBlockCreate, liveBlockFind, liveBlockRemove, liveBlocksBytes, liveBlockTouch, liveBlockTouchTarget } from "./live-blocks";
import { RECORD_SITE, RECORD_SIZE_BYTES, RECORD_THREAD, RECORD_THREAD_SEQUENCE, RECORD_TIME_MS } from "./live-record";
import { mappedBytes, mappedRangesAdd, mappedRangesRemove } from "./mapped-ranges";
import { outboxCopy } from "./outbox";
import { siteAddAllocated, siteAddTemporary, siteChangeLive, siteFor, sitesMarkPeak } from "./site-metrics";
import { fileStackCount, globalStackOf, siteCacheEntry, stackNodeDefine, stackNodesReset } from "./stack-nodes";
import { threadCountAllocation, threadHeapSequence, threadIndexOf, threadNextHeapSequence } from "./threads";
import { timelineObserveGrowth, timelineRss, timelineTime } from "./timeline";
import { rangeAdvance, rangeNoteFree, rangeObserveGrowth } from "./range-buckets";
import * as totals from "./capture-totals";

export const READ_SLACK: usize = 64;

// Where decoding is in the current chunk.
let at: usize = 0;
let rawStart: usize = 0;
let rawEnd: usize = 0;
let varintFailed: bool = false;
// The chunk's size section: the sizes of new heap blocks, read in step with their records.
let sizeAt: usize = 0;
let sizeEnd: usize = 0;

// The capture's format version: from 6 on, a chunk's records come in one stream per thread slot.
let formatVersion: u32 = 6;
// Where a chunk's record streams are put back in order (mergeRecordStreams).
let mergedStart: usize = 0;
let mergedCapacity: usize = 0;
// Per run of the merged records: where it starts there and in the payload, and whether a THREAD
// record was put back in front of it (3 u32s), so that an error names the payload's byte.
let mergedRuns: usize = 0;
let mergedRunsCapacity: usize = 0;
let mergedRunCount: usize = 0;
// Per record stream while merging: its length, then where its next run starts. Allocated once: the
// minimal runtime never collects, so an array made per chunk would stay for good.
const streamLengths = new StaticArray<u64>(format.THREAD_SLOTS + 1);
const streamNext = new StaticArray<usize>(format.THREAD_SLOTS + 1);
// The chunk's payload, whatever the records are read from.
let payloadStart: usize = 0;

export function decoderSetFormatVersion(version: u32): void {
  formatVersion = version;
}

// Delta bases and the current thread (restart at every chunk).
let addressBase: u64 = 0;
let stackBase: u64 = 0;
let blockBase: u64 = 0; // chunk ordinal, two's complement
let chunkFirstBlock: u64 = 0;
let pcBase: u64 = 0;
let currentTid: u64 = 0;
let currentThread: i32 = -1;
// Why the chunk's sections could not be read, reported by the next decoderStep.
let sectionError: i32 = 0;
// The chunk's thread table: slot k (1..15) holds the k-th thread a THREAD record named by id.
const chunkThreads = new StaticArray<u64>(format.THREAD_SLOTS + 1);
let chunkThreadCount: u32 = 0;
// The file stack id of the record being decoded.
let fileStackId: u32 = 0;

// Carried across chunks.
let nowNs: u64 = 0;
let nowMs: u32 = 0;
/** Heap blocks created so far: the ordinal of the next one. */
let blockCount: u64 = 0;
export let stringCount: u32 = 0;
export let temporaryThreshold: u32 = 1;

export function decoderInit(threshold: u32): void {
  heapRunInit();
  temporaryThreshold = threshold;
  stringCount = 0;
  nowNs = 0;
  nowMs = 0;
  blockCount = 0;
}

export function decoderBeginChunk(start: usize, length: usize): void {
  payloadStart = start;
  mergedRunCount = 0;
  rawStart = start;
  rawEnd = start + length;
  at = start;
  memory.fill(rawEnd, 0, READ_SLACK);
  readSections();
  addressBase = 0;
  stackBase = 0;
  blockBase = 0;
  chunkFirstBlock = blockCount;
  pcBase = 0;
  currentTid = 0;
  currentThread = -1;
  chunkThreadCount = 0;
}

/**
 * Steps over the chunk's address section (docs/capture-format.md, "Chunk"): this engine needs no
 * heap block's address. Then notes where the size section is, and moves on to the records. A
 * section that does not fit is reported by the first decoderStep.
 */
function readSections(): void {
  sectionError = ERROR_NONE;
  sizeAt = rawStart;
  sizeEnd = rawStart;
  if (rawEnd == rawStart) return;
  sectionError = skipSection(ERROR_ADDRESS_SECTION);
  if (sectionError != ERROR_NONE) return;
  const sizesStart = at;
  sectionError = skipSection(ERROR_SIZE_SECTION);
  if (sectionError != ERROR_NONE) return;
  // The length varint is not part of the section.
  sizeEnd = at;
  sizeAt = sizesStart + <usize>varintLength(sizesStart);
  if (formatVersion < 6) return;
  const scheduleStart = at;
  sectionError = skipSection(ERROR_SCHEDULE);
  if (sectionError != ERROR_NONE) return;
  const scheduleEnd = at;
  const runsStart = scheduleStart + <usize>varintLength(scheduleStart);
  if (runsStart != scheduleEnd) sectionError = mergeRecordStreams(runsStart, scheduleEnd);
}

/**
 * Puts the chunk's record streams (from `at` to the end) back in order, by the schedule of runs
 * between `runsStart` and `runsEnd` (docs/capture-format.md, "Chunk"), into the merged buffer, and
 * makes that the records to decode. A run of a thread slot's stream that had a run before, after
 * a run of another stream, gets the THREAD record naming its slot in front.
 */
function mergeRecordStreams(runsStart: usize, runsEnd: usize): i32 {
  const streamsStart = at;
  const streamsBytes = rawEnd - at;
  // First pass: the runs, read once into the run table (stream, bytes), and each stream's length,
  // so that each stream's start is known. A run takes at least 2 bytes of the schedule.
  const maxRuns = (runsEnd - runsStart) / 2;
  if (maxRuns * 12 > mergedRunsCapacity) {
    if (mergedRuns != 0) heap.free(mergedRuns);
    mergedRunsCapacity = maxRuns * 12;
    mergedRuns = heap.alloc(mergedRunsCapacity);
  }
  const streamBytes = streamLengths;
  for (let stream = 0; stream < 16; stream++) streamBytes[stream] = 0;
  let runs: usize = 0;
  at = runsStart;
  while (at < runsEnd) {
    const stream = readVarint();
    const bytes = readVarint();
    if (varintFailed || at > runsEnd || stream > 15 || bytes == 0 || bytes > <u64>streamsBytes) return ERROR_SCHEDULE;
    streamBytes[<i32>stream] += bytes;
    const entry = mergedRuns + runs * 12;
    store<u32>(entry, <u32>stream);
    store<u32>(entry, <u32>bytes, 4);
    runs++;
  }
  const next = streamNext;
  let total: u64 = 0;
  for (let stream = 0; stream < 16; stream++) {
    next[stream] = streamsStart + <usize>total;
    total += streamBytes[stream];
  }
  if (total != <u64>streamsBytes) return ERROR_SCHEDULE;
  const needed = streamsBytes + runs + READ_SLACK;
  if (needed > mergedCapacity) {
    if (mergedStart != 0) heap.free(mergedStart);
    mergedCapacity = needed;
    mergedStart = heap.alloc(mergedCapacity);
  }
  // Second pass: the runs, in order; each table entry becomes where its run starts in the merged
  // records and in the payload, and whether a THREAD record was put back in front of it.
  let out = mergedStart;
  let previous: i32 = -1;
  let seen: u32 = 0;  // bit k: stream k had a run
  for (let run: usize = 0; run < runs; run++) {
    const entry = mergedRuns + run * 12;
    const stream = <i32>load<u32>(entry);
    const bytes = <usize>load<u32>(entry, 4);
    const from = next[stream];
    const putBack = stream != 0 && stream != previous && (seen & (1 << stream)) != 0;
    store<u32>(entry, <u32>(out - mergedStart));
    store<u32>(entry, <u32>(from - payloadStart), 4);
    store<u32>(entry, putBack ? 1 : 0, 8);
    if (putBack) {
      store<u8>(out, <u8>(format.RECORD_THREAD | (stream << 4)));
      out++;
    }
    // Most runs are a record or two (the storm's: 11 bytes on average): two 8-byte moves instead
    // of a call to memory.copy. They may read past the stream into the next one or the read
    // slack, and write past the run into bytes the next run overwrites or the slack cleared below.
    if (bytes <= 16) {
      store<u64>(out, load<u64>(from));
      store<u64>(out, load<u64>(from, 8), 8);
    } else {
      memory.copy(out, from, bytes);
    }
    out += bytes;
    next[stream] = from + bytes;
    seen |= 1 << stream;
    previous = stream;
  }
  mergedRunCount = runs;
  rawStart = mergedStart;
  rawEnd = out;
  at = mergedStart;
  memory.fill(rawEnd, 0, READ_SLACK);
  return ERROR_NONE;
}

/** Reads a section's length and steps over it: ERROR_NONE, or `error` when it does not fit. */
function skipSection(error: i32): i32 {
  const sectionBytes = readVarint();
  if (varintFailed) {
    varintFailed = false;
    return ERROR_VARINT_TOO_LONG;
  }
  if (at > rawEnd || sectionBytes > <u64>(rawEnd - at)) return error;
  at += <usize>sectionBytes;
  return ERROR_NONE;
}

/**
 * The offset in the chunk's payload of the record at `record`: where it is, or for records put
 * back in order from their streams, where its bytes are in its stream (a THREAD record put back
 * in front of a run: that run's first byte).
 */
function payloadOffset(record: usize): u32 {
  if (mergedRunCount == 0) return <u32>(record - payloadStart);
  const position = <u32>(record - mergedStart);
  let low: usize = 0;
  let high: usize = mergedRunCount - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (load<u32>(mergedRuns + middle * 12) <= position) low = middle;
    else high = middle - 1;
  }
  const entry = mergedRuns + low * 12;
  const within = position - load<u32>(entry) ;
  const putBack = load<u32>(entry, 8);
  return load<u32>(entry, 4) + (within > putBack ? within - putBack : 0);
}

/** The next new block's size from the size section (past its end: checked by the caller). */
@inline function readSize(): u64 {
  const length = varintLength(sizeAt);
  const size = varintValue(sizeAt, length);
  if (length > 9) sizeVarintCheck(sizeAt);
  sizeAt += length;
  return size;
}

/** Sets varintFailed when the size varint at `p` is longer than 10 bytes or overflows. */
function sizeVarintCheck(p: usize): void {
  const saved = at;
  at = p;
  readVarint();
  at = saved;
}

export function decoderChunkDone(): bool {
  return at >= rawEnd;
}

// --- field readers -------------------------------------------------------------------------

@inline function readVarint(): u64 {
  const first = <u64>load<u8>(at);
  if (first < 0x80) {
    at++;
    return first;
  }
  return readVarintLong(first);
}

function readVarintLong(first: u64): u64 {
  let result = first & 0x7f;
  let shift: u64 = 7;
  let position = at + 1;
  while (true) {
    const byte = <u64>load<u8>(position);
    position++;
    if (shift == 63) {
      // The tenth byte may only hold bit 63.
      if (byte > 1) varintFailed = true;
      result |= byte << 63;
      break;
    }
    result |= (byte & 0x7f) << shift;
    if (byte < 0x80) break;
    shift += 7;
  }
  at = position;
  return result;
}

// Pointer-based readers for the hot loop: a local pointer avoids a store/load of `at` per field.
// The length comes from the continuation bits of one 8-byte load; up to 8 bytes (56 bits) the
// value is gathered without a loop. Longer varints take the general path.

@inline function varintLength(p: usize): usize {
  const stops = ~load<u64>(p) & 0x8080808080808080;
  if (stops != 0) return <usize>(ctz(stops) >>> 3) + 1;
  return load<u8>(p, 8) < 0x80 ? 9 : 10;
}

@inline function varintValue(p: usize, length: usize): u64 {
  if (length == 1) return <u64>load<u8>(p);
  if (length > 8) return varintValueLong(p);
  let x = load<u64>(p) & (0xffffffffffffffff >>> ((8 - <u64>length) << 3)) & 0x7f7f7f7f7f7f7f7f;
  x = (x & 0x007f007f007f007f) | ((x & 0x7f007f007f007f00) >>> 1);
  x = (x & 0x00003fff00003fff) | ((x & 0x3fff00003fff0000) >>> 2);
  return (x & 0x000000000fffffff) | ((x & 0x0fffffff00000000) >>> 4);
}

function varintValueLong(p: usize): u64 {
  const saved = at;
  at = p;
  const value = readVarint();
  at = saved;
  return value;
}

@inline function unzigzag(value: u64): u64 {
  return (value >>> 1) ^ (0 - (value & 1));
}

@inline function readZigzag(): u64 {
  const value = readVarint();
  return (value >>> 1) ^ (0 - (value & 1));
}

/** Reads a stack id; returns its global node, or -1 when the id is not defined. */
@inline function readStackNode(): i32 {
  const fileId = stackBase + readZigzag();
  stackBase = fileId;
  if (fileId > <u64>fileStackCount) return -1;
  fileStackId = <u32>fileId;
  return <i32>globalStackOf(<u32>fileId);
}

@inline function thread(): u32 {
  if (currentThread < 0) currentThread = <i32>threadIndexOf(currentTid, false);
  return <u32>currentThread;
}

@inline function siteOf(stackNode: i32): u32 {
  return siteFor(thread(), <u32>stackNode, currentTid, fileStackId);
}

/** The site of file stack id `fileId` on the current thread (resolved), through the per-id cache. */
@inline function siteOfFileId(fileId: u32): u32 {
  const cached = siteCacheEntry(fileId);
  if (load<i32>(cached) == currentThread) return load<u32>(cached, 4);
  fileStackId = fileId;
  const site = siteFor(<u32>currentThread, globalStackOf(fileId), currentTid, fileId);
  store<i32>(cached, currentThread);
  store<u32>(cached, site, 4);
  return site;
}

function readStringRef(): bool {
  return readVarint() <= <u64>stringCount;
}

// --- event application ---------------------------------------------------------------------

@inline function trackedBytes(): f64 {
  return totals.heapBytes + mappedBytes;
}

/** Tracked memory may have reached a new high-water mark. */
@inline function observeGrowth(): void {
  const tracked = trackedBytes();
  if (tracked > totals.peakTrackedBytes) {
    totals.peakTrackedBytes = tracked;
    totals.peakTimeNs = nowNs;
    sitesMarkPeak();
  }
  if (totals.heapBytes > totals.peakHeapBytes) totals.peakHeapBytes = totals.heapBytes;
  rangeObserveGrowth(tracked, <f64>nowMs);
  timelineObserveGrowth(tracked, totals.heapBytes);
}

/** The capture-wide ordinal of the block with chunk ordinal `chunkOrdinal`. */
@inline function blockOrdinal(chunkOrdinal: u64): u64 {
  return chunkFirstBlock + chunkOrdinal;
}

/**
 * The record of live block `ordinal`, or 0 when no such block is live (a corrupt capture: the
 * collector names only live blocks).
 */
@inline function liveRecordOf(ordinal: u64): usize {
  return ordinal < blockCount ? liveBlockFind(ordinal) : 0;
}

/** Frees heap block `ordinal`, whose record is at `record`. */
@inline function releaseHeapBlock(record: usize, ordinal: u64): void {
  accountRelease(record);
  liveBlockRemove(record, ordinal);
}

/** The figures of freeing the block whose record is at `record` (the record is left as it is). */
@inline function accountRelease(record: usize): void {
  const site = load<u32>(record, RECORD_SITE);
  const size = <f64>load<u64>(record, RECORD_SIZE_BYTES);
  siteChangeLive(site, -size, -1);
  totals.heapBytes -= size;
  // Temporary: freed by the allocating thread before it made `temporaryThreshold` more heap allocations.
  const allocatingThread = load<u32>(record, RECORD_THREAD) - 1;
  if (currentThread == <i32>allocatingThread &&
      threadHeapSequence(allocatingThread) - load<u32>(record, RECORD_THREAD_SEQUENCE) < temporaryThreshold) {
    siteAddTemporary(site, size);
  }
  rangeNoteFree(site, load<u32>(record, RECORD_TIME_MS), size, 1);
}

/**
 * New heap block `ordinal` (ALLOC or the new half of REALLOC); returns false when the live set no
 * longer fits.
 */
@inline function allocateHeapBlock(ordinal: u64, size: u64, site: u32, kind: u32): bool {
  const record = liveBlockCreate(ordinal);
  if (record == 0) return false;
  fillHeapBlock(record, size, site, kind);
  return true;
}

/** Records a new heap block in its (claimed) record and counts it everywhere. */
@inline function fillHeapBlock(record: usize, size: u64, site: u32, kind: u32): void {
  const threadIndex = thread();
  const sequence = threadNextHeapSequence(threadIndex);
  store<u64>(record, size, RECORD_SIZE_BYTES);
  store<u32>(record, site, RECORD_SITE);
  store<u32>(record, threadIndex + 1, RECORD_THREAD);
  store<u32>(record, sequence, RECORD_THREAD_SEQUENCE);
  store<u32>(record, nowMs, RECORD_TIME_MS);
  const sizeBytes = <f64>size;
  siteChangeLive(site, sizeBytes, 1);
  totals.heapBytes += sizeBytes;
  observeGrowth();
  countAllocation(threadIndex, kind, size, site);
}

@inline function countAllocation(threadIndex: u32, kind: u32, size: u64, site: u32): void {
  siteAddAllocated(site, <f64>size);
  totals.totalsCountAllocation(kind, size);
  threadCountAllocation(threadIndex);
}

// --- the loop ------------------------------------------------------------------------------

/**
 * Decodes records until about `budgetBytes` of the payload are consumed or the chunk ends.
 * Returns ERROR_NONE or a negative error code (with the record located by setErrorLocation).
 */
export function decoderStep(budgetBytes: usize): i32 {
  if (sectionError != ERROR_NONE) {
    setErrorLocation(0, 0);
    at = rawEnd;
    return sectionError;
  }
  const stop = rawEnd - at > budgetBytes ? at + budgetBytes : rawEnd;
  while (at < stop) {
    const recordStart = at;
    const typeByte = <u32>load<u8>(at);
    if ((typeByte & 15) <= format.RECORD_FREE && (typeByte & 15) != 0) {
      const runError = decodeHeapRun(stop);
      if (runError != ERROR_NONE) return runError;
      continue;
    }
    at++;
    const code = typeByte & 15;
    const argument = typeByte >>> 4;
    let error = ERROR_NONE;
    switch (code) {
      case format.RECORD_ALLOC: {
        const size = readSize();
        const stackNode = readStackNode();
        if (at > rawEnd || varintFailed) break;
        if (sizeAt > sizeEnd) { error = ERROR_SIZE_SECTION; break; }
        if (argument == 0 || argument > format.ALLOCATOR_OPERATOR_NEW_ARRAY) { error = ERROR_BAD_FIELD; break; }
        if (stackNode < 0) { error = ERROR_UNKNOWN_STACK; break; }
        if (!allocateHeapBlock(blockCount++, size, siteOf(stackNode), argument)) { error = ERROR_LIVE_SET_TOO_LARGE; break; }
        break;
      }
      case format.RECORD_FREE: {
        // Unknown blocks (allocated before tracing began) carry their address and change nothing.
        if (argument > format.UNKNOWN_BLOCK) {
          addressBase += readZigzag();
          if (at > rawEnd) break;
          if (argument > format.UNKNOWN_BLOCK + format.DEALLOCATOR_OPERATOR_DELETE_ARRAY) error = ERROR_BAD_FIELD;
          break;
        }
        blockBase += readZigzag();
        if (at > rawEnd) break;
        if (argument == 0 || argument > format.DEALLOCATOR_OPERATOR_DELETE_ARRAY) { error = ERROR_BAD_FIELD; break; }
        const ordinal = blockOrdinal(blockBase);
        const record = liveRecordOf(ordinal);
        if (record == 0) { error = ERROR_UNKNOWN_BLOCK; break; }
        thread();
        releaseHeapBlock(record, ordinal);
        break;
      }
      case format.RECORD_REALLOC: {
        blockBase += readZigzag();
        const size = readSize();
        const stackNode = readStackNode();
        if (at > rawEnd || varintFailed) break;
        if (sizeAt > sizeEnd) { error = ERROR_SIZE_SECTION; break; }
        if (stackNode < 0) { error = ERROR_UNKNOWN_STACK; break; }
        const site = siteOf(stackNode);
        const ordinal = blockOrdinal(blockBase);
        const record = liveRecordOf(ordinal);
        if (record == 0) { error = ERROR_UNKNOWN_BLOCK; break; }
        releaseHeapBlock(record, ordinal);
        if (!allocateHeapBlock(blockCount++, size, site, format.ALLOCATOR_REALLOC)) { error = ERROR_LIVE_SET_TOO_LARGE; break; }
        break;
      }
      case format.RECORD_MAP: {
        const address = addressBase + readZigzag();
        addressBase = address;
        const length = readVarint();
        const stackNode = readStackNode();
        if (at > rawEnd) break;
        if (stackNode < 0) { error = ERROR_UNKNOWN_STACK; break; }
        if (address + length < address) { error = ERROR_BAD_FIELD; break; }
        const site = siteOf(stackNode);
        mappedRangesAdd(address, address + length, site, nowMs);
        observeGrowth();
        countAllocation(thread(), format.ALLOCATOR_MMAP, length, site);
        break;
      }
      case format.RECORD_UNMAP: {
        const address = addressBase + readZigzag();
        addressBase = address;
        const length = readVarint();
        if (at > rawEnd) break;
        if (address + length < address) { error = ERROR_BAD_FIELD; break; }
        if (length != 0) mappedRangesRemove(address, address + length);
        break;
      }
      case format.RECORD_THREAD: {
        let tid: u64;
        if (argument == 0) {
          tid = readVarint();
          if (at > rawEnd) break;
          if (chunkThreadCount < format.THREAD_SLOTS) unchecked(chunkThreads[++chunkThreadCount] = tid);
        } else {
          if (argument > chunkThreadCount) { error = ERROR_BAD_FIELD; break; }
          tid = unchecked(chunkThreads[argument]);
        }
        currentTid = tid;
        currentThread = <i32>threadIndexOf(tid, true);
        break;
      }
      case format.RECORD_TIME: {
        const timeNs = readVarint();
        if (at > rawEnd) break;
        nowNs = timeNs;
        nowMs = <u32>Math.min(<f64>(timeNs / 1000000), 4294967295.0);
        totals.lastTimeNs = timeNs;
        timelineTime(<f64>timeNs / 1e6, trackedBytes(), totals.heapBytes);
        rangeAdvance(nowMs, trackedBytes());
        break;
      }
      case format.RECORD_RSS: {
        const rss = <f64>readVarint();
        if (at > rawEnd) break;
        if (rss > totals.peakRssBytes) totals.peakRssBytes = rss;
        timelineRss(rss);
        break;
      }
      case format.RECORD_STACK: {
        const parentDistance = readVarint();
        const pc = pcBase + readZigzag();
        pcBase = pc;
        if (at > rawEnd) break;
        if (parentDistance == 0 || parentDistance > <u64>fileStackCount + 1) { error = ERROR_BAD_STACK_PARENT; break; }
        stackNodeDefine(<u32>parentDistance, pc);
        break;
      }
      case format.RECORD_STACK_RESET: {
        stackNodesReset();
        break;
      }
      default:
        error = decodeDictionaryRecord(code, argument);
        if (error == ERROR_NONE && at <= rawEnd && !varintFailed) outboxCopy(recordStart, at - recordStart);
        break;
    }
    if (varintFailed) {
      varintFailed = false;
      error = ERROR_VARINT_TOO_LONG;
    }
    if (error == ERROR_NONE && at > rawEnd) error = ERROR_RECORD_TRUNCATED;
    if (error != ERROR_NONE) {
      setErrorLocation(payloadOffset(recordStart), typeByte);
      at = rawEnd;
      return error;
    }
    totals.eventCount += 1;
  }
  // Every size in the section belongs to a new block, and every new block has one.
  if (at >= rawEnd && sizeAt != sizeEnd) {
    setErrorLocation(0, 0);
    return ERROR_SIZE_SECTION;
  }
  return ERROR_NONE;
}

// --- runs of ALLOC/FREE records, the bulk of every capture ------------------------------------
//
// With a large live set each FREE's record is a cache miss. Decoding a run of events first and
// touching the records its frees name before applying any lets the CPU wait for those misses in
// parallel instead of one after another. Only ALLOC and FREE are batched, and a batch
// ends at any other record, so nothing else can observe the events out of order: the site
// announcements made while decoding reach the outbox in file order, as before. Block ordinals are
// handed out while decoding, in file order, so a FREE may name a block allocated earlier in the
// same batch: it is inserted by the time the FREE is applied.

const HEAP_RUN_CAPACITY: u32 = 256;
// Records up to this size stay in the core's cache: events are then applied as they are decoded.
const FUSED_RECORD_BYTES: usize = 1 << 20;
const HEAP_EVENT_SIZE: usize = 24;
const HEAP_EVENT_BLOCK: usize = 0; // u64 block ordinal
const HEAP_EVENT_SIZE_BYTES: usize = 8; // u64
const HEAP_EVENT_SITE: usize = 16; // u32
const HEAP_EVENT_KIND: usize = 20; // u32 allocator kind; 0 for a FREE
let heapRun: usize = 0;
let heapRunStarts: usize = 0; // u32 record offset of each event, for error locations
let heapRunFrees: usize = 0; // u32 address of each FREE's record in the run (liveBlockTouchTarget)
/** Sum of the touched slots, kept so the touching loads are not optimised away. */
export let prefetchSink: u64 = 0;

export function heapRunInit(): void {
  if (heapRun == 0) {
    heapRun = heap.alloc(<usize>HEAP_RUN_CAPACITY * HEAP_EVENT_SIZE);
    heapRunStarts = heap.alloc(<usize>HEAP_RUN_CAPACITY * 4);
    heapRunFrees = heap.alloc(<usize>HEAP_RUN_CAPACITY * 4);
  }
}

/**
 * Whether the varint of the ALLOC (its stack id) or FREE (its block) record at recordStart is longer
 * than 10 bytes or overflows 64 bits, or a size varint sizeVarintCheck looked at before did (a
 * rare, slow check).
 */
function varintTooLong(recordStart: usize): bool {
  const saved = at;
  at = recordStart + 1;
  readVarint();
  at = saved;
  const failed = varintFailed;
  varintFailed = false;
  return failed;
}

function heapRunError(recordStart: usize, error: i32): i32 {
  setErrorLocation(payloadOffset(recordStart), <u32>load<u8>(recordStart));
  varintFailed = false;
  at = rawEnd;
  return error;
}

/**
 * Decodes up to HEAP_RUN_CAPACITY consecutive ALLOC/FREE records, then applies them. Live records
 * that fit in the core's cache (FUSED_RECORD_BYTES) have no misses to overlap: then each record is
 * applied as soon as it is decoded, without the round trip through the batch.
 */
function decodeHeapRun(stop: usize): i32 {
  let count: u32 = 0;
  let freeCount: u32 = 0;
  let applied: u32 = 0;
  const fused = liveBlocksBytes() <= FUSED_RECORD_BYTES;
  let p = at;
  let sp = sizeAt;
  thread();
  while (count < HEAP_RUN_CAPACITY && p < stop) {
    const recordStart = p;
    const typeByte = <u32>load<u8>(p);
    const code = typeByte & 15;
    const argument = typeByte >>> 4;
    const event = heapRun + <usize>count * HEAP_EVENT_SIZE;
    if (code == format.RECORD_ALLOC) {
      p++;
      const sizeLength = varintLength(sp);
      const size = varintValue(sp, sizeLength);
      sp += sizeLength;
      const stackLength = varintLength(p);
      const fileId = stackBase + unzigzag(varintValue(p, stackLength));
      p += stackLength;
      stackBase = fileId;
      if ((sizeLength | stackLength) > 9) {
        at = p;
        sizeVarintCheck(sp - sizeLength);
        if (varintTooLong(recordStart)) return heapRunError(recordStart, ERROR_VARINT_TOO_LONG);
      }
      if (p > rawEnd) return heapRunError(recordStart, ERROR_RECORD_TRUNCATED);
      if (sp > sizeEnd) return heapRunError(recordStart, ERROR_SIZE_SECTION);
      if (argument == 0 || argument > format.ALLOCATOR_OPERATOR_NEW_ARRAY) return heapRunError(recordStart, ERROR_BAD_FIELD);
      if (fileId > <u64>fileStackCount) return heapRunError(recordStart, ERROR_UNKNOWN_STACK);
      const ordinal = blockCount++;
      if (fused) {
        if (!allocateHeapBlock(ordinal, size, siteOfFileId(<u32>fileId), argument)) return heapRunError(recordStart, ERROR_LIVE_SET_TOO_LARGE);
        applied++;
        continue;
      }
      store<u64>(event, ordinal, HEAP_EVENT_BLOCK);
      store<u64>(event, size, HEAP_EVENT_SIZE_BYTES);
      store<u32>(event, siteOfFileId(<u32>fileId), HEAP_EVENT_SITE);
      store<u32>(event, argument, HEAP_EVENT_KIND);
    } else if (code == format.RECORD_FREE) {
      p++;
      const fieldLength = varintLength(p);
      const field = unzigzag(varintValue(p, fieldLength));
      p += fieldLength;
      if (fieldLength > 9) {
        at = p;
        if (varintTooLong(recordStart)) return heapRunError(recordStart, ERROR_VARINT_TOO_LONG);
      }
      if (p > rawEnd) return heapRunError(recordStart, ERROR_RECORD_TRUNCATED);
      if (argument > format.UNKNOWN_BLOCK) {
        // A block allocated before tracing began: only its address, and nothing to release.
        if (argument > format.UNKNOWN_BLOCK + format.DEALLOCATOR_OPERATOR_DELETE_ARRAY) return heapRunError(recordStart, ERROR_BAD_FIELD);
        addressBase += field;
        applied++;
        continue;
      }
      if (argument == 0 || argument > format.DEALLOCATOR_OPERATOR_DELETE_ARRAY) return heapRunError(recordStart, ERROR_BAD_FIELD);
      blockBase += field;
      const ordinal = blockOrdinal(blockBase);
      if (fused) {
        const record = liveRecordOf(ordinal);
        if (record == 0) return heapRunError(recordStart, ERROR_UNKNOWN_BLOCK);
        releaseHeapBlock(record, ordinal);
        applied++;
        continue;
      }
      if (ordinal >= blockCount) return heapRunError(recordStart, ERROR_UNKNOWN_BLOCK);
      store<u64>(event, ordinal, HEAP_EVENT_BLOCK);
      store<u32>(event, 0, HEAP_EVENT_KIND);
      store<u32>(heapRunFrees + (<usize>freeCount << 2), <u32>liveBlockTouchTarget(ordinal));
      freeCount++;
    } else {
      break;
    }
    store<u32>(heapRunStarts + (<usize>count << 2), <u32>(recordStart - rawStart));
    count++;
  }
  at = p;
  sizeAt = sp;

  // New blocks go to the open page in order and do not miss; only the blocks frees name are
  // touched ahead, from their own list so that the loop has no branch to mispredict.
  let touched: u64 = 0;
  for (let i: u32 = 0; i < freeCount; i++) touched += liveBlockTouch(<usize>load<u32>(heapRunFrees + (<usize>i << 2)));
  prefetchSink ^= touched;

  for (let i: u32 = 0; i < count; i++) {
    const event = heapRun + <usize>i * HEAP_EVENT_SIZE;
    const ordinal = load<u64>(event, HEAP_EVENT_BLOCK);
    const kind = load<u32>(event, HEAP_EVENT_KIND);
    if (kind == 0) {
      const record = liveBlockFind(ordinal);
      if (record == 0) return heapRunError(rawStart + <usize>load<u32>(heapRunStarts + (<usize>i << 2)), ERROR_UNKNOWN_BLOCK);
      releaseHeapBlock(record, ordinal);
    } else if (!allocateHeapBlock(ordinal, load<u64>(event, HEAP_EVENT_SIZE_BYTES), load<u32>(event, HEAP_EVENT_SITE), kind)) {
      return heapRunError(rawStart + <usize>load<u32>(heapRunStarts + (<usize>i << 2)), ERROR_LIVE_SET_TOO_LARGE);
    }
  }
  totals.eventCount += <f64>(count + applied);
  return ERROR_NONE;
}

/** Checks (and skips) a CODE, STRING, MODULE, SYMBOL or META record; code 0 is corruption. */
function decodeDictionaryRecord(code: u32, argument: u32): i32 {
  switch (code) {
    case format.RECORD_CODE: {
      if (argument == format.CODE_MOVE) {
        readVarint();
        readVarint();
        return ERROR_NONE;
      }
      if (argument != format.CODE_ADD) return ERROR_BAD_FIELD;
      readVarint(); // start
      readVarint(); // size
      readVarint(); // code type
      if (!readStringRef() || !readStringRef()) return ERROR_BAD_STRING_REF;
      readVarint(); // line
      readVarint(); // column
      const positions = readVarint();
      for (let i: u64 = 0; i < positions; i++) {
        readVarint();
        readVarint();
        readVarint();
        if (at > rawEnd || varintFailed) return ERROR_NONE; // reported by the caller
      }
      return ERROR_NONE;
    }
    case format.RECORD_STRING: {
      const length = readVarint();
      if (at > rawEnd || length > <u64>(rawEnd - at)) {
        at = rawEnd + 1;
        return ERROR_NONE;
      }
      at += <usize>length;
      stringCount++;
      return ERROR_NONE;
    }
    case format.RECORD_MODULE: {
      readVarint(); // load bias
      if (!readStringRef()) return ERROR_BAD_STRING_REF;
      const buildIdLength = readVarint();
      if (at > rawEnd || buildIdLength > <u64>(rawEnd - at)) {
        at = rawEnd + 1;
        return ERROR_NONE;
      }
      at += <usize>buildIdLength;
      const segments = readVarint();
      for (let i: u64 = 0; i < segments; i++) {
        readVarint();
        readVarint();
        if (at > rawEnd || varintFailed) return ERROR_NONE;
      }
      return ERROR_NONE;
    }
    case format.RECORD_SYMBOL: {
      readVarint(); // pc
      if (!readStringRef() || !readStringRef()) return ERROR_BAD_STRING_REF;
      readVarint(); // line
      return ERROR_NONE;
    }
    case format.RECORD_META: {
      if (argument == format.META_KEY_VALUE) {
        if (!readStringRef() || !readStringRef()) return ERROR_BAD_STRING_REF;
        return ERROR_NONE;
      }
      if (argument == format.META_THREAD_NAME) {
        readVarint();
        if (!readStringRef()) return ERROR_BAD_STRING_REF;
        return ERROR_NONE;
      }
      return ERROR_BAD_FIELD;
    }
    default:
      return ERROR_ZERO_RECORD;
  }
}
