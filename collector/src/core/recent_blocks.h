// The latest block remembered at an address, so that a new block's address can be written as a
// reference to an earlier block (docs/capture-format.md, "Addresses of new blocks"): a small
// number that repeats, where the address itself looks random and does not compress. The writer
// keeps the blocks whose allocator chunk ends at each address (memory carved right after them);
// the blocks freed at each address are in heap_blocks.h. Only the writer thread touches it.
//
// A direct-mapped cache, not a map: a slot holds the latest block whose address hashes to it, and
// a collision simply forgets the older one (that allocation then writes its address). It starts
// at 64 KiB and doubles as blocks accumulate, up to 16 MiB: a table that size from the start costs
// a short program ~20 ms of zeroing and page faults. Storage comes straight from the kernel,
// populated (raw_memory.h).
#pragma once
#include <cstddef>
#include <cstdint>

#include "block_slot.h"

namespace memview {

class RecentBlocks : public BlockSlots {
 public:
  /** Block `ordinal` is the latest at `address`. */
  void remember(uint64_t address, uint64_t ordinal) {
    slots[home(address)] = BlockSlot{address + 1, ordinal};
    if (__builtin_expect(++remembered_ > capacity() * 2, 0) && bits < kMaxBits) grow();
  }

  /** The ordinal of the latest block at `address` this cache still holds, or kAbsent. */
  uint64_t recall(uint64_t address) const {
    const BlockSlot& slot = slots[home(address)];
    return slot.key == address + 1 ? slot.ordinal : kAbsent;
  }

  /** Forgets every block (a new capture). */
  void clear() {
    restart();
    remembered_ = 0;
  }

 private:
  static constexpr unsigned kMaxBits = 20;

  void grow() {
    BlockSlot* old = slots;
    const size_t old_count = capacity();
    allocate(bits + 1);
    remembered_ = 0;
    for (size_t i = 0; i < old_count; i++) {
      if (old[i].key != 0) slots[home(old[i].key - 1)] = old[i];
    }
    raw_release(old, old_count * sizeof(BlockSlot));
  }

  size_t remembered_ = 0;  // blocks remembered since the table last grew
};

}  // namespace memview
