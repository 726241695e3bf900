// An open-addressing map from a 64-bit key to a 32-bit index (thread id → thread index,
// (thread, stack) → site). Linear probing over 16-byte slots; a slot is empty when its stored
// value is 0, so values are kept plus one. Entries are never removed.

const SLOT_SIZE: usize = 16;

export class U64Index {
  slots: usize = 0;
  capacityMask: u32 = 0;
  count: u32 = 0;
  shift: u32 = 0;

  constructor(initialBits: u32) {
    this.allocate(initialBits);
  }

  private allocate(bits: u32): void {
    const capacity = <usize>1 << bits;
    this.slots = heap.alloc(capacity * SLOT_SIZE);
    memory.fill(this.slots, 0, capacity * SLOT_SIZE);
    this.capacityMask = <u32>capacity - 1;
    this.shift = 64 - bits;
    this.count = 0;
  }

  @inline private slotOf(key: u64): u32 {
    return <u32>((key * 0x9E3779B97F4A7C15) >>> this.shift);
  }

  /** The index stored for key, or -1. */
  get(key: u64): i32 {
    let slot = this.slotOf(key);
    while (true) {
      const address = this.slots + <usize>slot * SLOT_SIZE;
      const storedValue = load<u32>(address, 8);
      if (storedValue == 0) return -1;
      if (load<u64>(address) == key) return <i32>(storedValue - 1);
      slot = (slot + 1) & this.capacityMask;
    }
  }

  /** Stores key → value; the key must not be present. */
  insert(key: u64, value: u32): void {
    if ((this.count + 1) * 2 > this.capacityMask + 1) this.grow();
    this.place(key, value);
    this.count++;
  }

  private place(key: u64, value: u32): void {
    let slot = this.slotOf(key);
    while (true) {
      const address = this.slots + <usize>slot * SLOT_SIZE;
      if (load<u32>(address, 8) == 0) {
        store<u64>(address, key);
        store<u32>(address, value + 1, 8);
        return;
      }
      slot = (slot + 1) & this.capacityMask;
    }
  }

  private grow(): void {
    const oldSlots = this.slots;
    const oldCapacity = <usize>this.capacityMask + 1;
    const oldCount = this.count;
    this.allocate(64 - this.shift + 1);
    for (let i: usize = 0; i < oldCapacity; i++) {
      const address = oldSlots + i * SLOT_SIZE;
      const storedValue = load<u32>(address, 8);
      if (storedValue != 0) this.place(load<u64>(address), storedValue - 1);
    }
    this.count = oldCount;
    heap.free(oldSlots);
  }
}

/** Frees the slots of an index that is no longer used (the object itself is tiny). */
export function disposeU64Index(index: U64Index): void {
  heap.free(index.slots);
  index.slots = 0;
}
