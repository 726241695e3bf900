// The block that last held an address, for the addresses the allocator hands out again: a new
// block at an address an earlier block was freed from is written as a reference to that block
// (docs/capture-format.md, "Addresses of new blocks"), a small number that repeats, where the
// address itself looks random and does not compress. Only the writer thread touches it.
//
// A direct-mapped cache, not a map: a slot holds the latest freed block whose address hashes to
// it, and a collision simply forgets the older one (that allocation then writes its address).
// It starts at 64 KiB and doubles as frees accumulate, up to 16 MiB: a table that size from the
// start costs a short program ~20 ms of zeroing and page faults. Storage comes straight from the
// kernel, populated (raw_memory.h).
#pragma once
#include <cstddef>
#include <cstdint>

#include "block_slot.h"
#include "raw_memory.h"

namespace memview {

class FreedBlocks {
 public:
  static constexpr uint64_t kAbsent = ~0ull;

  FreedBlocks() { allocate(kInitialBits); }

  /** Block `ordinal`, at `address`, was freed. */
  void remember(uint64_t address, uint64_t ordinal) {
    slots_[home(address)] = Slot{address + 1, ordinal};
    if (__builtin_expect(++remembered_ > (mask_ + 1) * 2, 0) && bits_ < kMaxBits) grow();
  }

  /** The ordinal of the latest freed block at `address` this cache still holds, or kAbsent. */
  uint64_t recall(uint64_t address) const {
    const Slot& slot = slots_[home(address)];
    return slot.key == address + 1 ? slot.ordinal : kAbsent;
  }

  void prefetch(uint64_t address) const { __builtin_prefetch(&slots_[home(address)]); }

  /** Forgets every block (a new capture). */
  void clear() {
    raw_release(slots_, (mask_ + 1) * sizeof(Slot));
    allocate(kInitialBits);
  }

 private:
  using Slot = BlockSlot;
  static constexpr unsigned kInitialBits = 12;
  static constexpr unsigned kMaxBits = 20;

  size_t home(uint64_t address) const { return block_address_hash(address, bits_); }

  void allocate(unsigned bits) {
    bits_ = bits;
    mask_ = (size_t{1} << bits) - 1;
    slots_ = static_cast<Slot*>(raw_allocate_populated((mask_ + 1) * sizeof(Slot)));
    remembered_ = 0;
  }

  void grow() {
    Slot* old = slots_;
    const size_t old_count = mask_ + 1;
    allocate(bits_ + 1);
    for (size_t i = 0; i < old_count; i++) {
      if (old[i].key != 0) slots_[home(old[i].key - 1)] = old[i];
    }
    raw_release(old, old_count * sizeof(Slot));
  }

  Slot* slots_ = nullptr;
  size_t mask_ = 0;
  unsigned bits_ = 0;
  size_t remembered_ = 0;  // frees since the table last grew
};

}  // namespace memview
