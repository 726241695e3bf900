// The heap blocks live in the capture being written, address → block ordinal: the writer thread
// names a freed block by its ordinal (docs/capture-format.md, "Heap blocks are named by ordinal"),
// so it must know which allocation an address belongs to. Only the writer thread touches it, in
// event order, so no locking. Open addressing with linear probing and backward-shift deletion (no
// tombstones: storms of alloc/free pairs would otherwise fill the table with them); storage comes
// straight from the kernel so it never shows up in the capture.
#pragma once
#include <cstddef>
#include <cstdint>

#include "block_slot.h"

namespace memview {

class LiveBlocks : public BlockSlots {
 public:
  /** Records that the block at `address` is `ordinal`. Returns the ordinal the address held, or kAbsent. */
  uint64_t insert(uint64_t address, uint64_t ordinal) {
    size_t index = home(address);
    while (true) {
      BlockSlot& slot = slots[index];
      if (slot.key == 0) break;
      if (slot.key == address + 1) {
        uint64_t previous = slot.ordinal;
        slot.ordinal = ordinal;
        return previous;
      }
      index = (index + 1) & mask;
    }
    slots[index] = BlockSlot{address + 1, ordinal};
    if (++used_ * 2 > capacity()) grow();
    return kAbsent;
  }

  /** Removes the block at `address`; returns its ordinal, or kAbsent when none is live there. */
  uint64_t remove(uint64_t address) {
    const uint64_t key = address + 1;
    size_t index = home(address);
    while (true) {
      BlockSlot& slot = slots[index];
      if (slot.key == key) break;
      if (slot.key == 0) return kAbsent;
      index = (index + 1) & mask;
    }
    const uint64_t ordinal = slots[index].ordinal;
    // Close the gap: move back each later entry of the run whose home is not within (hole, here].
    size_t hole = index;
    size_t next = (hole + 1) & mask;
    while (slots[next].key != 0) {
      size_t wanted = home(slots[next].key - 1);
      if (((next - wanted) & mask) >= ((next - hole) & mask)) {
        slots[hole] = slots[next];
        hole = next;
      }
      next = (next + 1) & mask;
    }
    slots[hole].key = 0;
    used_--;
    return ordinal;
  }

  /** Forgets every block (a new capture: blocks of the previous one are unknown to it). */
  void clear() {
    restart();
    used_ = 0;
  }

 private:
  void grow() {
    BlockSlot* old = slots;
    const size_t old_capacity = capacity();
    allocate(bits + 1);
    for (size_t i = 0; i < old_capacity; i++) {
      if (old[i].key == 0) continue;
      size_t index = home(old[i].key - 1);
      while (slots[index].key != 0) index = (index + 1) & mask;
      slots[index] = old[i];
    }
    raw_release(old, old_capacity * sizeof(BlockSlot));
  }

  size_t used_ = 0;
};

}  // namespace memview
