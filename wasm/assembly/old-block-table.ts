// Live heap blocks whose block page was retired (block-pages.ts): the long-lived survivors, keyed
// by block ordinal. Most blocks die young and never come here; those that do are looked up once
// more, when they are freed. Open addressing with linear probing and backward-shift deletion (no
// tombstones, so probe chains stay short however many blocks come and go). A slot is the ordinal
// + 1 (0 marks an empty slot) followed by the block's record (live-record.ts).

import { recordAddIfAllocatedIn, RECORD_SIZE } from "./live-record";

const SLOT_SIZE: usize = 32;
const SLOT_SHIFT: u32 = 5;
const RECORD_OFFSET: usize = SLOT_SIZE - RECORD_SIZE;

// heap.alloc cannot hand out a block of 1 GiB or more; 2^24 slots of 32 bytes is 512 MiB.
const MAX_BITS: u32 = 24;

let slots: usize = 0;
let mask: u32 = 0;
let shift: u64 = 0;
let growAt: u32 = 0;
let bits: u32 = 0;
export let oldBlockCount: u32 = 0;

export function oldBlocksInit(initialBits: u32): void {
  if (slots != 0) heap.free(slots);
  allocate(initialBits);
  oldBlockCount = 0;
}

function allocate(newBits: u32): void {
  const bytes = (<usize>1 << newBits) * SLOT_SIZE;
  slots = heap.alloc(bytes);
  memory.fill(slots, 0, bytes);
  bits = newBits;
  mask = (<u32>1 << newBits) - 1;
  shift = 64 - <u64>newBits;
  // Half full, except at the largest size where we accept longer probes rather than fail.
  growAt = newBits < MAX_BITS ? (<u32>1 << (newBits - 1)) : ((<u32>1 << newBits) / 10) * 8;
}

/** Bytes the table occupies. */
export function oldBlocksBytes(): usize {
  return (<usize>mask + 1) << SLOT_SHIFT;
}

@inline function homeOf(key: u64): u32 {
  return <u32>((key * 0x9E3779B97F4A7C15) >>> shift);
}

@inline function slotAddress(slot: u32): usize {
  return slots + (<usize>slot << SLOT_SHIFT);
}

/** The record of block `ordinal`, or 0 when the table does not hold it. */
export function oldBlockFind(ordinal: u64): usize {
  const key = ordinal + 1;
  let slot = homeOf(key);
  while (true) {
    const entry = slotAddress(slot);
    const stored = load<u64>(entry);
    if (stored == key) return entry + RECORD_OFFSET;
    if (stored == 0) return 0;
    slot = (slot + 1) & mask;
  }
}

/** The home slot of block `ordinal`: where oldBlockFind starts looking (an aligned 32 bytes). */
@inline export function oldBlockHome(ordinal: u64): usize {
  return slotAddress(homeOf(ordinal + 1));
}

/** Whether `count` more blocks fit, growing the table if it must; false at its largest size. */
export function oldBlocksMakeRoom(count: u32): bool {
  while (oldBlockCount + count > growAt) {
    if (!grow()) return false;
  }
  return true;
}

/** Stores block `ordinal` (not in the table) with the record at `record`; room must have been made. */
export function oldBlockAdd(ordinal: u64, record: usize): void {
  const key = ordinal + 1;
  let slot = homeOf(key);
  while (load<u64>(slotAddress(slot)) != 0) slot = (slot + 1) & mask;
  const entry = slotAddress(slot);
  store<u64>(entry, key);
  memory.copy(entry + RECORD_OFFSET, record, RECORD_SIZE);
  oldBlockCount++;
}

/** Removes the block whose record is at `record` (from oldBlockFind) and closes the gap. */
export function oldBlockRemove(record: usize): void {
  let hole = <u32>((record - RECORD_OFFSET - slots) >>> SLOT_SHIFT);
  let slot = (hole + 1) & mask;
  while (true) {
    const candidate = slotAddress(slot);
    const key = load<u64>(candidate);
    if (key == 0) break;
    const home = homeOf(key);
    // Move the candidate into the hole when its home is not cyclically within (hole, slot].
    if (((slot - home) & mask) >= ((slot - hole) & mask)) {
      const holeAddress = slotAddress(hole);
      v128.store(holeAddress, v128.load(candidate));
      v128.store(holeAddress + 16, v128.load(candidate + 16));
      hole = slot;
    }
    slot = (slot + 1) & mask;
  }
  store<u64>(slotAddress(hole), 0);
  oldBlockCount--;
}

function grow(): bool {
  if (bits >= MAX_BITS) return false;
  const oldSlots = slots;
  const oldCapacity = <usize>mask + 1;
  allocate(bits + 1);
  for (let i: usize = 0; i < oldCapacity; i++) {
    const old = oldSlots + (i << SLOT_SHIFT);
    const key = load<u64>(old);
    if (key == 0) continue;
    let slot = homeOf(key);
    while (load<u64>(slotAddress(slot)) != 0) slot = (slot + 1) & mask;
    const entry = slotAddress(slot);
    v128.store(entry, v128.load(old));
    v128.store(entry + 16, v128.load(old + 16));
  }
  heap.free(oldSlots);
  return true;
}

/** Adds each block allocated in buckets [first, last] to per-site (bytes, count) f64 pairs. */
export function oldBlocksAddAllocatedIn(first: u32, last: u32, widthShift: u32, output: usize): void {
  const capacity = <usize>mask + 1;
  for (let i: usize = 0; i < capacity; i++) {
    const entry = slots + (i << SLOT_SHIFT);
    if (load<u64>(entry) == 0) continue;
    recordAddIfAllocatedIn(entry + RECORD_OFFSET, first, last, widthShift, output);
  }
}
