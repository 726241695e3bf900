// The accessible mapped memory live right now. Each MAP record is one *mapping* (owned by a site,
// counted as one live allocation until its last byte is gone); its bytes are held as *pieces*,
// disjoint ranges sorted by start, which UNMAP and overlapping MAPs trim or split. A program has
// a few thousand pieces at most, so a sorted array with binary search and shifting inserts is
// both simple and fast enough.

import { siteChangeLive } from "./site-metrics";
import { rangeNoteFree } from "./range-buckets";

const PIECE_SIZE: usize = 24;
const PIECE_START: usize = 0; // u64
const PIECE_END: usize = 8; // u64, exclusive
const PIECE_MAPPING: usize = 16; // u32

const MAPPING_SIZE: usize = 16;
const MAPPING_REMAINING: usize = 0; // f64 bytes still mapped; or the next free mapping id when free
const MAPPING_SITE: usize = 8; // u32
const MAPPING_TIME_MS: usize = 12; // u32 when mapped; FREED_MAPPING once gone
const FREED_MAPPING: u32 = 0xffffffff;

let pieces: usize = 0;
export let pieceCount: u32 = 0;
let pieceCapacity: u32 = 0;

let mappings: usize = 0;
let mappingCapacity: u32 = 0;
let mappingHighWater: u32 = 0;
let freeMapping: i32 = -1;
/** MAP records with bytes still mapped. */
export let liveMappingCount: u32 = 0;
/** Sum of the lengths of all pieces. */
export let mappedBytes: f64 = 0;

export function mappedRangesInit(): void {
  pieceCapacity = 256;
  pieces = heap.alloc(<usize>pieceCapacity * PIECE_SIZE);
  pieceCount = 0;
  mappingCapacity = 256;
  mappings = heap.alloc(<usize>mappingCapacity * MAPPING_SIZE);
  mappingHighWater = 0;
  freeMapping = -1;
  liveMappingCount = 0;
  mappedBytes = 0;
}

@inline function pieceAt(index: u32): usize {
  return pieces + <usize>index * PIECE_SIZE;
}

@inline function mappingAt(id: u32): usize {
  return mappings + (<usize>id << 4);
}

function newMapping(site: u32, lengthBytes: f64, timeMs: u32): u32 {
  let id: u32;
  if (freeMapping >= 0) {
    id = <u32>freeMapping;
    freeMapping = <i32>load<u32>(mappingAt(id), MAPPING_SITE);
  } else {
    if (mappingHighWater == mappingCapacity) {
      mappingCapacity *= 2;
      mappings = heap.realloc(mappings, <usize>mappingCapacity * MAPPING_SIZE);
    }
    id = mappingHighWater++;
  }
  store<f64>(mappingAt(id), lengthBytes, MAPPING_REMAINING);
  store<u32>(mappingAt(id), site, MAPPING_SITE);
  store<u32>(mappingAt(id), timeMs, MAPPING_TIME_MS);
  liveMappingCount++;
  return id;
}

/** Index of the first piece whose end is above address. */
function firstEndingAbove(address: u64): u32 {
  let low: u32 = 0;
  let high = pieceCount;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (load<u64>(pieceAt(middle), PIECE_END) <= address) low = middle + 1;
    else high = middle;
  }
  return low;
}

function insertPiece(index: u32, start: u64, end: u64, mapping: u32): void {
  if (pieceCount == pieceCapacity) {
    pieceCapacity *= 2;
    pieces = heap.realloc(pieces, <usize>pieceCapacity * PIECE_SIZE);
  }
  const at = pieceAt(index);
  memory.copy(at + PIECE_SIZE, at, <usize>(pieceCount - index) * PIECE_SIZE);
  store<u64>(at, start, PIECE_START);
  store<u64>(at, end, PIECE_END);
  store<u32>(at, mapping, PIECE_MAPPING);
  pieceCount++;
}

function removePiece(index: u32): void {
  const at = pieceAt(index);
  memory.copy(at, at + PIECE_SIZE, <usize>(pieceCount - index - 1) * PIECE_SIZE);
  pieceCount--;
}

/** Takes `bytes` away from a mapping and its site; frees the mapping when nothing is left. */
function shrinkMapping(mapping: u32, bytes: f64): void {
  const record = mappingAt(mapping);
  const remaining = load<f64>(record, MAPPING_REMAINING) - bytes;
  const site = load<u32>(record, MAPPING_SITE);
  mappedBytes -= bytes;
  const timeMs = load<u32>(record, MAPPING_TIME_MS);
  if (remaining <= 0) {
    rangeNoteFree(site, timeMs, bytes, 1);
    siteChangeLive(site, -bytes, -1);
    store<u32>(record, FREED_MAPPING, MAPPING_TIME_MS);
    liveMappingCount--;
    store<u32>(record, <u32>freeMapping, MAPPING_SITE);
    freeMapping = <i32>mapping;
  } else {
    rangeNoteFree(site, timeMs, bytes, 0);
    siteChangeLive(site, -bytes, 0);
    store<f64>(record, remaining, MAPPING_REMAINING);
  }
}

/** Makes [start, end) inaccessible. */
export function mappedRangesRemove(start: u64, end: u64): void {
  let index = firstEndingAbove(start);
  while (index < pieceCount) {
    const at = pieceAt(index);
    const pieceStart = load<u64>(at, PIECE_START);
    const pieceEnd = load<u64>(at, PIECE_END);
    if (pieceStart >= end) break;
    const mapping = load<u32>(at, PIECE_MAPPING);
    const overlapStart = pieceStart > start ? pieceStart : start;
    const overlapEnd = pieceEnd < end ? pieceEnd : end;
    if (pieceStart < start && pieceEnd > end) {
      // A hole in the middle: the piece becomes two.
      store<u64>(at, start, PIECE_END);
      insertPiece(index + 1, end, pieceEnd, mapping);
      shrinkMapping(mapping, <f64>(overlapEnd - overlapStart));
      break;
    } else if (pieceStart < start) {
      store<u64>(at, start, PIECE_END);
      index++;
    } else if (pieceEnd > end) {
      store<u64>(at, end, PIECE_START);
    } else {
      removePiece(index);
    }
    shrinkMapping(mapping, <f64>(overlapEnd - overlapStart));
    if (pieceEnd > end) break;
  }
}

/** Makes [start, end) accessible, as one new mapping owned by site. */
export function mappedRangesAdd(start: u64, end: u64, site: u32, timeMs: u32): void {
  mappedRangesRemove(start, end);
  const length = <f64>(end - start);
  const mapping = newMapping(site, length, timeMs);
  insertPiece(firstEndingAbove(start), start, end, mapping);
  mappedBytes += length;
  siteChangeLive(site, length, 1);
}

/** Adds each live mapping made in buckets [first, last] to per-site (bytes, count) f64 pairs. */
export function mappingsAddLiveMadeIn(first: u32, last: u32, widthShift: u32, output: usize): void {
  for (let id: u32 = 0; id < mappingHighWater; id++) {
    const record = mappingAt(id);
    const timeMs = load<u32>(record, MAPPING_TIME_MS);
    if (timeMs == FREED_MAPPING) continue;
    const bucket = timeMs >>> widthShift;
    if (bucket < first || bucket > last) continue;
    const at = output + (<usize>load<u32>(record, MAPPING_SITE) << 4);
    store<f64>(at, load<f64>(at) + load<f64>(record, MAPPING_REMAINING));
    store<f64>(at, load<f64>(at, 8) + 1, 8);
  }
}
