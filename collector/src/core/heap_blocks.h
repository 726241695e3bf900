// The heap blocks of the capture being written, by address: the live ones, and the freed ones
// whose memory the allocator may hand out again. The writer names a freed block by its ordinal
// (docs/capture-format.md, "Heap blocks are named by ordinal"), so it must know which allocation
// an address belongs to; and it names a new block's address by the freed block that held it before
// ("Addresses of new blocks"). One table serves both, so that a free touches one slot (marking it
// freed) and an allocation finds in that same slot the block it reuses: the writer's time goes
// mostly on waiting for these slots, which lie at random in a table larger than the cache. (With
// a table for live blocks and another for freed ones, a free touched two random slots and an
// allocation two more.)
//
// Open addressing with linear probing. A live block is never lost. A freed block stays until its
// address is allocated again, another block takes its slot, or it falls out of the reuse window
// (format::kReuseWindow blocks back: readers cannot resolve a reference older than that), which
// a rebuild drops. Only the writer thread touches it, in event order, so no locking; storage comes
// straight from the kernel so it never shows up in the capture.
#pragma once
#include <cstddef>
#include <cstdint>

#include "block_slot.h"
#include "record_format.h"

namespace memview {

class HeapBlocks : public BlockSlots {
 public:
  /**
   * Block `ordinal` is allocated at `address`. Returns the live block the address still held (its
   * free went unseen), or kAbsent; *previous is the block that held the address last (that same
   * unseen one, or a freed one), or kAbsent.
   */
  uint64_t allocated(uint64_t address, uint64_t ordinal, uint64_t* previous) {
    const uint64_t key = address + 1;
    size_t index = home(address);
    size_t reusable = kNoSlot;  // the first freed slot on the way: the new block may take it
    while (true) {
      BlockSlot& slot = slots[index];
      if (slot.key == key) {
        const uint64_t held = slot.ordinal;
        slot.ordinal = ordinal;
        if (held & kFreed) {
          *previous = held & ~kFreed;
          return kAbsent;
        }
        *previous = held;
        return held;
      }
      if (slot.key == 0) break;
      if (reusable == kNoSlot && (slot.ordinal & kFreed)) reusable = index;
      index = (index + 1) & mask;
    }
    *previous = kAbsent;
    if (reusable != kNoSlot) {
      slots[reusable] = BlockSlot{key, ordinal};  // forgets a freed block: a cache entry, not a live one
      return kAbsent;
    }
    slots[index] = BlockSlot{key, ordinal};
    if (++used_ * 2 > capacity()) rebuild(ordinal);
    return kAbsent;
  }

  /** The block at `address` is freed: returns its ordinal, or kAbsent when none is live there. */
  uint64_t freed(uint64_t address) {
    const uint64_t key = address + 1;
    size_t index = home(address);
    while (true) {
      BlockSlot& slot = slots[index];
      if (slot.key == key) {
        if (slot.ordinal & kFreed) return kAbsent;  // freed twice
        slot.ordinal |= kFreed;
        return slot.ordinal & ~kFreed;
      }
      if (slot.key == 0) return kAbsent;
      index = (index + 1) & mask;
    }
  }

  /** Forgets every block (a new capture: blocks of the previous one are unknown to it). */
  void clear() {
    restart();
    used_ = 0;
  }

 private:
  static constexpr uint64_t kFreed = uint64_t{1} << 63;
  static constexpr size_t kNoSlot = ~size_t{0};

  // Half full: rebuilt without the freed blocks that fell out of the reuse window, into a table
  // where what is kept fills at most a third.
  void rebuild(uint64_t newest_ordinal) {
    const uint64_t oldest_useful = newest_ordinal > format::kReuseWindow ? newest_ordinal - format::kReuseWindow : 0;
    auto kept = [&](const BlockSlot& slot) {
      return slot.key != 0 && (!(slot.ordinal & kFreed) || (slot.ordinal & ~kFreed) >= oldest_useful);
    };
    BlockSlot* old = slots;
    const size_t old_capacity = capacity();
    size_t keep = 0;
    for (size_t i = 0; i < old_capacity; i++) keep += kept(old[i]);
    unsigned table_bits = bits;
    while ((size_t{1} << table_bits) < keep * 3) table_bits++;
    allocate(table_bits);
    used_ = 0;
    for (size_t i = 0; i < old_capacity; i++) {
      if (!kept(old[i])) continue;
      size_t index = home(old[i].key - 1);
      while (slots[index].key != 0) index = (index + 1) & mask;
      slots[index] = old[i];
      used_++;
    }
    raw_release(old, old_capacity * sizeof(BlockSlot));
  }

  size_t used_ = 0;  // slots taken, live or freed
};

}  // namespace memview
