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
#include "raw_memory.h"

namespace memview {

class LiveBlocks {
 public:
  static constexpr uint64_t kAbsent = ~0ull;

  LiveBlocks() { allocate(kInitialBits); }

  /** Records that the block at `address` is `ordinal`. Returns the ordinal the address held, or kAbsent. */
  uint64_t insert(uint64_t address, uint64_t ordinal) {
    size_t index = home(address);
    while (true) {
      Slot& slot = slots_[index];
      if (slot.key == 0) break;
      if (slot.key == address + 1) {
        uint64_t previous = slot.ordinal;
        slot.ordinal = ordinal;
        return previous;
      }
      index = (index + 1) & mask_;
    }
    slots_[index] = Slot{address + 1, ordinal};
    if (++used_ * 2 > mask_ + 1) grow();
    return kAbsent;
  }

  /** Removes the block at `address`; returns its ordinal, or kAbsent when none is live there. */
  uint64_t remove(uint64_t address) {
    const uint64_t key = address + 1;
    size_t index = home(address);
    while (true) {
      Slot& slot = slots_[index];
      if (slot.key == key) break;
      if (slot.key == 0) return kAbsent;
      index = (index + 1) & mask_;
    }
    const uint64_t ordinal = slots_[index].ordinal;
    // Close the gap: move back each later entry of the run whose home is not within (hole, here].
    size_t hole = index;
    size_t next = (hole + 1) & mask_;
    while (slots_[next].key != 0) {
      size_t wanted = home(slots_[next].key - 1);
      if (((next - wanted) & mask_) >= ((next - hole) & mask_)) {
        slots_[hole] = slots_[next];
        hole = next;
      }
      next = (next + 1) & mask_;
    }
    slots_[hole].key = 0;
    used_--;
    return ordinal;
  }

  /**
   * Starts loading the slot where the block at `address` would be found, for an event a few
   * places ahead: the table outgrows the cache with the live set, and a miss per event would
   * otherwise be waited for one after another.
   */
  void prefetch(uint64_t address) const { __builtin_prefetch(&slots_[home(address)]); }

  /** Forgets every block (a new capture: blocks of the previous one are unknown to it). */
  void clear() {
    raw_release(slots_, (mask_ + 1) * sizeof(Slot));
    allocate(kInitialBits);
  }

 private:
  using Slot = BlockSlot;
  static constexpr unsigned kInitialBits = 12;

  size_t home(uint64_t address) const { return block_address_hash(address, bits_); }

  void allocate(unsigned bits) {
    slots_ = static_cast<Slot*>(raw_allocate_populated((size_t{1} << bits) * sizeof(Slot)));
    mask_ = (size_t{1} << bits) - 1;
    bits_ = bits;
    used_ = 0;
  }

  void grow() {
    Slot* old = slots_;
    size_t old_capacity = mask_ + 1;
    size_t live = used_;
    allocate(bits_ + 1);
    for (size_t i = 0; i < old_capacity; i++) {
      if (old[i].key == 0) continue;
      size_t index = home(old[i].key - 1);
      while (slots_[index].key != 0) index = (index + 1) & mask_;
      slots_[index] = old[i];
    }
    used_ = live;
    raw_release(old, old_capacity * sizeof(Slot));
  }

  Slot* slots_ = nullptr;
  size_t mask_ = 0;
  unsigned bits_ = 0;
  size_t used_ = 0;
};

}  // namespace memview
