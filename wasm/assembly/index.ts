// The engine's exported surface. The host (wasm/host/engine-session.ts) frames the file into
// chunks, copies each stored payload to inputBuffer(), then calls beginChunk once and step until
// the chunk is done, draining the outbox in between. Memory is bounded by the live set: chunks
// are processed one at a time and nothing per event is kept.

import { fnv1a32 } from "./checksum";
import { inflateRaw } from "./inflate";
import { lz4DecompressBlock } from "./lz4";
import * as format from "./format";
import { ERROR_CHECKSUM, ERROR_DEFLATE_MALFORMED, ERROR_DEFLATE_SIZE_MISMATCH, ERROR_LZ4_MALFORMED, ERROR_LZ4_SIZE_MISMATCH, ERROR_NONE, errorRecordOffset, errorRecordType, setErrorLocation } from "./errors";
import { decoderBeginChunk, decoderChunkDone, decoderInit, decoderSetFormatVersion, decoderStep, READ_SLACK, stringCount } from "./record-decoder";
import { liveBlockCount, liveBlocksAddAllocatedIn, liveBlocksInit } from "./live-blocks";
export { liveBlockLimits } from "./live-blocks";
import { liveMappingCount, mappedBytes, mappedRangesInit } from "./mapped-ranges";
import { outboxClear, outboxInit, outboxLength, outboxStart } from "./outbox";
import {
  peakEpoch, siteCount, sitePeakBytes, sitePeakCount, siteRecord, siteRecords, sitesInit, SITE_PEAK_BYTES, SITE_PEAK_COUNT, SITE_PEAK_EPOCH,
} from "./site-metrics";
import { stackNodesInit, globalStackCount } from "./stack-nodes";
import { threadAllocations, threadCount, threadsInit, threadTid } from "./threads";
import { timelineBucketCount, timelineBuckets, timelineFinish, timelineInit } from "./timeline";
import * as totals from "./capture-totals";
import { closeBucket, rangeAddFreedAfter, rangeInit, rangeOutboxLength, rangeOutboxStart, rangeWidthShift } from "./range-buckets";
import * as range from "./range-buckets";
import { mappingsAddLiveMadeIn } from "./mapped-ranges";

let finished = false;
let inputStart: usize = 0;
let inputCapacity: usize = 0;
let rawStart: usize = 0;
let rawCapacity: usize = 0;

/** Resets every accumulator for a new capture. */
export function init(temporaryThreshold: u32): void {
  liveBlocksInit();
  mappedRangesInit();
  outboxInit();
  sitesInit();
  stackNodesInit();
  threadsInit();
  timelineInit();
  totals.totalsInit();
  rangeInit();
  decoderInit(temporaryThreshold);
  finished = false;
}

/** The format version of the capture being decoded (its header's): it decides how chunks are laid out. */
export function setFormatVersion(version: u32): void {
  decoderSetFormatVersion(version);
}

/** A buffer of at least `bytes` (plus read slack) for the host to copy a stored payload into. */
export function inputBuffer(bytes: usize): usize {
  if (bytes + READ_SLACK > inputCapacity) {
    if (inputStart != 0) heap.free(inputStart);
    inputCapacity = bytes + READ_SLACK;
    inputStart = heap.alloc(inputCapacity);
  }
  return inputStart;
}

function rawBuffer(bytes: usize): usize {
  if (bytes + READ_SLACK > rawCapacity) {
    if (rawStart != 0) heap.free(rawStart);
    rawCapacity = bytes + READ_SLACK;
    rawStart = heap.alloc(rawCapacity);
  }
  return rawStart;
}

/** Checks and decompresses the data chunk already copied to the input buffer. */
export function beginChunk(codec: u32, storedSize: u32, rawSize: u32, checksum: u32): i32 {
  setErrorLocation(0, 0);
  if (fnv1a32(inputStart, storedSize) != checksum) return ERROR_CHECKSUM;
  if (codec == format.CODEC_LZ4_BLOCK && storedSize == 0 && rawSize == 0) {
    decoderBeginChunk(inputStart, 0);
    return ERROR_NONE;
  }
  if (codec == format.CODEC_STORED) {
    decoderBeginChunk(inputStart, storedSize);
    return ERROR_NONE;
  }
  const raw = rawBuffer(rawSize);
  const status = decompressInput(codec, storedSize, raw, rawSize);
  if (status != ERROR_NONE) return status;
  decoderBeginChunk(raw, rawSize);
  return ERROR_NONE;
}

/** Decompresses the input buffer's payload into `raw`: 0 or the codec's error. */
function decompressInput(codec: u32, storedSize: u32, raw: usize, rawSize: u32): i32 {
  if (codec == format.CODEC_DEFLATE) {
    const written = inflateRaw(inputStart, storedSize, raw, rawSize);
    if (written < 0) return ERROR_DEFLATE_MALFORMED;
    return <u32>written == rawSize ? ERROR_NONE : ERROR_DEFLATE_SIZE_MISMATCH;
  }
  const written = lz4DecompressBlock(inputStart, storedSize, raw, rawSize);
  if (written < 0) return ERROR_LZ4_MALFORMED;
  return <u32>written == rawSize ? ERROR_NONE : ERROR_LZ4_SIZE_MISMATCH;
}

/**
 * Starts decoding a chunk whose payload another worker has already checked and decompressed into
 * the input buffer (the unpacking pipeline, wasm/host/chunk-unpacker.ts).
 */
export function beginUnpackedChunk(rawSize: u32): i32 {
  setErrorLocation(0, 0);
  decoderBeginChunk(inputStart, rawSize);
  return ERROR_NONE;
}

/** Checks the payload in the input buffer and decompresses it into the raw buffer: 0 or an error. */
export function unpackInput(codec: u32, storedSize: u32, rawSize: u32, checksum: u32): i32 {
  if (fnv1a32(inputStart, storedSize) != checksum) return ERROR_CHECKSUM;
  if (codec == format.CODEC_STORED || rawSize == 0) return ERROR_NONE;
  return decompressInput(codec, storedSize, rawBuffer(rawSize), rawSize);
}

/** Checks only the checksum of the trailer chunk in the input buffer. */
export function checkStored(storedSize: u32, checksum: u32): i32 {
  return fnv1a32(inputStart, storedSize) == checksum ? ERROR_NONE : ERROR_CHECKSUM;
}

/** Decodes about budgetBytes more of the current chunk: 1 = more to do, 0 = chunk done, < 0 = error. */
export function step(budgetBytes: u32): i32 {
  const result = decoderStep(budgetBytes);
  if (result != ERROR_NONE) return result;
  return decoderChunkDone() ? 0 : 1;
}

export function errorOffset(): u32 { return errorRecordOffset; }
export function errorType(): u32 { return errorRecordType; }

export function outboxPointer(): usize { return outboxStart; }
export function outboxSize(): usize { return outboxLength; }
export function outboxReset(): void { outboxClear(); }

/** Freezes the results: stores every site's peak values in its record and flushes the timeline. */
export function finish(): void {
  if (finished) return;
  finished = true;
  closeBucket();
  timelineFinish();
  for (let site: u32 = 0; site < siteCount; site++) {
    const record = siteRecord(site);
    const bytes = sitePeakBytes(site);
    const count = sitePeakCount(site);
    store<f64>(record, bytes, SITE_PEAK_BYTES);
    store<u32>(record, <u32>count, SITE_PEAK_COUNT);
  }
  // Mark every record as saved in the latest epoch so a second finish() reads the same values.
  for (let site: u32 = 0; site < siteCount; site++) store<u32>(siteRecord(site), peakEpoch, SITE_PEAK_EPOCH);
}

export function sitesPointer(): usize { return siteRecords; }
export function sitesCount(): u32 { return siteCount; }
export function threadsCount(): u32 { return threadCount; }
export function threadAllocationCount(thread: u32): f64 { return threadAllocations(thread); }
/** The kernel tid of a thread index (as f64: tids fit in 2^53). */
export function threadId(thread: u32): f64 { return <f64>threadTid(thread); }
export function stackNodeCount(): u32 { return globalStackCount; }
export function stringsCount(): u32 { return stringCount; }

export function timelinePointer(): usize { return timelineBuckets; }
export function timelineCount(): u32 { return timelineBucketCount; }

export function allocatorTablePointer(): usize { return totals.allocatorTable; }
export function sizeHistogramPointer(): usize { return totals.sizeHistogram; }

export function totalAllocations(): f64 { return totals.totalAllocations; }
export function totalBytesAllocated(): f64 { return totals.totalBytesAllocated; }
export function peakTrackedBytes(): f64 { return totals.peakTrackedBytes; }
export function peakHeapBytes(): f64 { return totals.peakHeapBytes; }
export function peakTimeMs(): f64 { return <f64>totals.peakTimeNs / 1e6; }
export function peakRssBytes(): f64 { return totals.peakRssBytes; }
export function lastTimeNs(): f64 { return <f64>totals.lastTimeNs; }
export function liveHeapBytes(): f64 { return totals.heapBytes; }
export function liveHeapCount(): f64 { return <f64>liveBlockCount(); }
export function liveMappedBytes(): f64 { return mappedBytes; }
export function liveMappings(): f64 { return <f64>liveMappingCount; }
export function eventCount(): f64 { return totals.eventCount; }

/**
 * Decompresses the LZ4 block in the input buffer into the raw buffer without decoding records:
 * for the LZ4 tests and benchmark. Returns the bytes written or a negative error.
 */
export function lz4DecompressInput(storedSize: u32, rawCapacity: u32): i32 {
  const raw = rawBuffer(rawCapacity);
  return <i32>lz4DecompressBlock(inputStart, storedSize, raw, rawCapacity);
}

/** The same for a raw DEFLATE stream in the input buffer: for the inflate tests and benchmark. */
export function inflateInput(storedSize: u32, rawCapacity: u32): i32 {
  const raw = rawBuffer(rawCapacity);
  return <i32>inflateRaw(inputStart, storedSize, raw, rawCapacity);
}

export function rawPointer(): usize { return rawStart; }

export function rangeOutboxPointer(): usize { return rangeOutboxStart; }
export function rangeOutboxSize(): usize { return rangeOutboxLength; }
export function rangeOutboxReset(): void { range.rangeOutboxClear(); }
/** log2 of the range bucket width in ms. */
export function rangeBucketWidthShift(): u32 { return rangeWidthShift; }

let rangeOutput: usize = 0;
let rangeOutputCapacity: usize = 0;

/**
 * Per-site (bytes f64, count f64) of what was allocated in leak buckets [first, last] (range
 * buckets >> LEAK_BUCKET_SHIFT) and not freed by the end of leak bucket `last`. Returns the
 * pointer to siteCount pairs.
 */
export function rangeLeaks(first: u32, last: u32): usize {
  const bytes = <usize>siteCount * 16;
  if (bytes > rangeOutputCapacity) {
    if (rangeOutput != 0) heap.free(rangeOutput);
    rangeOutputCapacity = bytes;
    rangeOutput = heap.alloc(bytes == 0 ? 16 : bytes);
  }
  memory.fill(rangeOutput, 0, bytes);
  rangeAddFreedAfter(first, last, rangeOutput);
  liveBlocksAddAllocatedIn(first, last, rangeWidthShift + range.LEAK_BUCKET_SHIFT, rangeOutput);
  mappingsAddLiveMadeIn(first, last, rangeWidthShift + range.LEAK_BUCKET_SHIFT, rangeOutput);
  return rangeOutput;
}

/** log2 of how many range buckets make one leak bucket. */
export function leakBucketShift(): u32 { return range.LEAK_BUCKET_SHIFT; }
