// The heap blocks live right now, keyed by block ordinal (docs/capture-format.md, "Heap blocks
// are named by ordinal"): the only structure whose size follows the profiled program's live set
// (1M live allocations → 64 MiB). Open addressing with linear probing and backward-shift deletion
// (no tombstones, so probe chains stay short however many allocations come and go). Slots hold
// ordinal + 1 so that 0 can mark an empty slot.

export const LIVE_SLOT_SIZE: usize = 32;
// Slot layout.
export const LIVE_KEY: usize = 0; // u64 block ordinal + 1
export const LIVE_SIZE: usize = 8; // u64 bytes
export const LIVE_SITE: usize = 16; // u32 site index (thread + stack)
export const LIVE_THREAD: usize = 20; // u32 allocating thread index
export const LIVE_THREAD_SEQUENCE: usize = 24; // u32 allocation number on that thread
export const LIVE_TIME_MS: usize = 28; // u32 ms since start when allocated

// heap.alloc cannot hand out a block of 1 GiB or more; 2^24 slots of 32 bytes is 512 MiB.
const MAX_BITS: u32 = 24;

export let liveSlots: usize = 0;
export let liveMask: u32 = 0;
export let liveShift: u64 = 0;
export let liveCount: u32 = 0;
let liveGrowAt: u32 = 0;
let liveBits: u32 = 0;

export function liveInit(bits: u32): void {
  if (liveSlots != 0) heap.free(liveSlots);
  liveAllocate(bits);
  liveCount = 0;
}

function liveAllocate(bits: u32): void {
  const bytes = (<usize>1 << bits) * LIVE_SLOT_SIZE;
  liveSlots = heap.alloc(bytes);
  memory.fill(liveSlots, 0, bytes);
  liveBits = bits;
  liveMask = (<u32>1 << bits) - 1;
  liveShift = 64 - <u64>bits;
  // Half full, except at the largest size where we accept longer probes rather than fail.
  liveGrowAt = bits < MAX_BITS ? (<u32>1 << (bits - 1)) : ((<u32>1 << bits) / 10) * 8;
}

@inline export function liveSlotOf(key: u64): u32 {
  return <u32>((key * 0x9E3779B97F4A7C15) >>> liveShift);
}

@inline export function liveSlotAddress(slot: u32): usize {
  return liveSlots + (<usize>slot << 5);
}

/** The slot holding block `ordinal`, or 0 when it is not live. */
@inline export function liveFind(ordinal: u64): usize {
  const key = ordinal + 1;
  let slot = liveSlotOf(key);
  while (true) {
    const entry = liveSlotAddress(slot);
    const stored = load<u64>(entry);
    if (stored == key) return entry;
    if (stored == 0) return 0;
    slot = (slot + 1) & liveMask;
  }
}

/**
 * The slot for new block `ordinal` (never live before), or 0 when the table is full at its
 * largest size. The caller fills the other fields.
 */
export function liveInsert(ordinal: u64): usize {
  if (liveCount >= liveGrowAt) {
    if (!liveGrow()) return 0;
  }
  const key = ordinal + 1;
  let slot = liveSlotOf(key);
  while (true) {
    const entry = liveSlotAddress(slot);
    if (load<u64>(entry) == 0) {
      store<u64>(entry, key);
      liveCount++;
      return entry;
    }
    slot = (slot + 1) & liveMask;
  }
}

/** Removes the entry at slot address `entry` and closes the gap (backward shift). */
export function liveRemove(entry: usize): void {
  let hole = <u32>((entry - liveSlots) >>> 5);
  let slot = (hole + 1) & liveMask;
  while (true) {
    const candidate = liveSlotAddress(slot);
    const key = load<u64>(candidate);
    if (key == 0) break;
    const home = liveSlotOf(key);
    // Move the candidate into the hole when its home is not cyclically within (hole, slot].
    if (((slot - home) & liveMask) >= ((slot - hole) & liveMask)) {
      const holeAddress = liveSlotAddress(hole);
      v128.store(holeAddress, v128.load(candidate));
      v128.store(holeAddress + 16, v128.load(candidate + 16));
      hole = slot;
    }
    slot = (slot + 1) & liveMask;
  }
  store<u64>(liveSlotAddress(hole), 0);
  liveCount--;
}

function liveGrow(): bool {
  if (liveBits >= MAX_BITS) return false;
  const oldSlots = liveSlots;
  const oldCapacity = <usize>liveMask + 1;
  liveAllocate(liveBits + 1);
  for (let i: usize = 0; i < oldCapacity; i++) {
    const old = oldSlots + (i << 5);
    const key = load<u64>(old);
    if (key == 0) continue;
    let slot = liveSlotOf(key);
    while (load<u64>(liveSlotAddress(slot)) != 0) slot = (slot + 1) & liveMask;
    const entry = liveSlotAddress(slot);
    v128.store(entry, v128.load(old));
    v128.store(entry + 16, v128.load(old + 16));
  }
  heap.free(oldSlots);
  return true;
}

/** Adds each live block allocated in buckets [first, last] to per-site (bytes, count) f64 pairs. */
export function liveAddAllocatedIn(first: u32, last: u32, widthShift: u32, output: usize): void {
  const capacity = <usize>liveMask + 1;
  for (let i: usize = 0; i < capacity; i++) {
    const entry = liveSlots + (i << 5);
    if (load<u64>(entry) == 0) continue;
    const bucket = load<u32>(entry, LIVE_TIME_MS) >>> widthShift;
    if (bucket < first || bucket > last) continue;
    const at = output + (<usize>load<u32>(entry, LIVE_SITE) << 4);
    store<f64>(at, load<f64>(at) + <f64>load<u64>(entry, LIVE_SIZE));
    store<f64>(at, load<f64>(at, 8) + 1, 8);
  }
}
