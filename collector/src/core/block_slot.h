// A heap block in the writer's tables keyed by address (heap_blocks.h, recent_blocks.h): the slot
// both store, where an address lands in a table of 2^bits slots, and the slots themselves.
#pragma once
#include <cstddef>
#include <cstdint>

#include "raw_memory.h"

namespace memview {

struct BlockSlot {
  uint64_t key;  // address + 1; 0 marks an empty slot
  uint64_t ordinal;
};

inline size_t block_address_hash(uint64_t address, unsigned bits) {
  // Heap blocks are 16-byte aligned: the low bits carry nothing. Fibonacci hashing keeps the top
  // bits of the product, where every address bit has mixed in.
  return static_cast<size_t>(((address >> 4) * 0x9E3779B97F4A7C15ull) >> (64 - bits));
}

// 2^bits slots straight from the kernel, populated (raw_memory.h). The tables differ in what they
// do on a collision and when they grow, not in how they store and find a slot.
class BlockSlots {
 public:
  /** No block: what the tables answer for an address they do not hold. */
  static constexpr uint64_t kAbsent = ~0ull;

 protected:
  static constexpr unsigned kInitialBits = 12;

  BlockSlots() { allocate(kInitialBits); }

  /** Back to an empty table of the first size (a new capture knows none of the old blocks). */
  void restart() {
    release();
    allocate(kInitialBits);
  }

  void allocate(unsigned table_bits) {
    bits = table_bits;
    mask = (size_t{1} << table_bits) - 1;
    slots = static_cast<BlockSlot*>(raw_allocate_populated(capacity() * sizeof(BlockSlot)));
  }
  void release() { raw_release(slots, capacity() * sizeof(BlockSlot)); }
  size_t capacity() const { return mask + 1; }
  size_t home(uint64_t address) const { return block_address_hash(address, bits); }

 public:
  /**
   * Starts loading the slot where the block at `address` would be found, for an event a few
   * places ahead: the table outgrows the cache with the live set, and a miss per event would
   * otherwise be waited for one after another.
   */
  void prefetch(uint64_t address) const { __builtin_prefetch(&slots[home(address)]); }

 protected:
  BlockSlot* slots = nullptr;
  size_t mask = 0;
  unsigned bits = 0;
};

}  // namespace memview
