// The block that last held an address, for the addresses the allocator hands out again: a new
// block at an address an earlier block was freed from is written as a reference to that block
// (docs/capture-format.md, "Addresses of new blocks"), a small number that repeats, where the
// address itself looks random and does not compress. Only the writer thread touches it.
//
// A direct-mapped cache, not a map: a slot holds the latest freed block whose address hashes to
// it, and a collision simply forgets the older one (that allocation then writes its address).
// Storage comes straight from the kernel and is touched only where addresses land.
#pragma once
#include <cstddef>
#include <cstdint>

#include "raw_memory.h"

namespace memview {

class FreedBlocks {
 public:
  static constexpr uint64_t kAbsent = ~0ull;

  FreedBlocks() { slots_ = static_cast<Slot*>(raw_allocate(kSlots * sizeof(Slot))); }

  /** Block `ordinal`, at `address`, was freed. */
  void remember(uint64_t address, uint64_t ordinal) { slots_[home(address)] = Slot{address + 1, ordinal}; }

  /** The ordinal of the latest freed block at `address` this cache still holds, or kAbsent. */
  uint64_t recall(uint64_t address) const {
    const Slot& slot = slots_[home(address)];
    return slot.key == address + 1 ? slot.ordinal : kAbsent;
  }

  void prefetch(uint64_t address) const { __builtin_prefetch(&slots_[home(address)]); }

  /** Forgets every block (a new capture). */
  void clear() {
    raw_release(slots_, kSlots * sizeof(Slot));
    slots_ = static_cast<Slot*>(raw_allocate(kSlots * sizeof(Slot)));
  }

 private:
  struct Slot {
    uint64_t key;  // address + 1; 0 marks an empty slot
    uint64_t ordinal;
  };
  static constexpr unsigned kBits = 20;  // 16 MiB of address space, touched as used
  static constexpr size_t kSlots = size_t{1} << kBits;

  static size_t home(uint64_t address) {
    return static_cast<size_t>(((address >> 4) * 0x9E3779B97F4A7C15ull) >> (64 - kBits));
  }

  Slot* slots_;
};

}  // namespace memview
