// Per size class, the freed heap blocks in the order they were freed, newest first: a new block
// that takes the memory of one of the few most recently freed blocks of its class is written as
// that block's rank in the list (docs/capture-format.md, "Addresses of new blocks", form 3).
// Allocators keep freed memory in last-in, first-out lists per size (glibc's tcache and fast
// bins): the rank stays small and repeats where the ordinal of the reused block jumps with
// whatever was freed in between. Only the writer thread touches it, in event order; readers that
// resolve addresses keep the same lists by the same rules, so the rules below are the format's.
//
// A block takes part while it is among the last kWindow blocks created: each block has the slot
// `ordinal % kWindow`, and the block created kWindow later takes it over. A list entry whose slot
// another block owns is dropped, with everything below it, when a walk reaches it. Blocks named by
// a reference (rank or ordinal) are taken: marked, and unlinked when a walk passes them. Storage
// comes straight from the kernel; every slot is first written when its block is created.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "raw_memory.h"
#include "record_format.h"

namespace memview {

class FreedLists {
 public:
  static constexpr uint64_t kWindow = format::kFreedListWindow;
  static constexpr uint32_t kRankLimit = format::kFreedRankLimit;
  static constexpr int kNotRanked = -1;

  FreedLists()
      : slots_(static_cast<Slot*>(raw_allocate(kWindow * sizeof(Slot)))),
        tops_(static_cast<uint64_t*>(raw_allocate(format::kSizeClassCount * sizeof(uint64_t)))) {}

  /** Block `ordinal` of size class `size_class` is created. */
  void created(uint64_t ordinal, uint32_t size_class) {
    slots_[ordinal & (kWindow - 1)] = Slot{0, owner_of(ordinal), static_cast<uint16_t>(size_class), kLive};
    if (ordinal >= touched_) touched_ = ordinal + 1;
  }

  /** Block `ordinal` is freed: it goes on top of its class's list. */
  void freed(uint64_t ordinal) {
    Slot& slot = slots_[ordinal & (kWindow - 1)];
    if (slot.owner != owner_of(ordinal) || slot.state != kLive) return;
    slot.state = kFreed;
    slot.below = tops_[slot.size_class];
    tops_[slot.size_class] = ordinal + 1;
  }

  /**
   * Freed block `ordinal` gives its memory to a new block of size class `size_class` (created
   * already): when it is among the kRankLimit newest entries of that class's list, takes it and
   * returns its rank (0 = the newest); else returns kNotRanked and leaves it in its list.
   */
  int take_ranked(uint64_t ordinal, uint32_t size_class) {
    // A class whose freed blocks come back in the order they were freed (the storm's small
    // objects) never ranks: after 4 misses in a row its walks are tried only every 8th time, since
    // each costs up to 8 dependent loads (the storm's writer spent 155 ms on them). Which form the
    // writer picks is its own business: readers follow either.
    uint8_t& misses = misses_[size_class];
    if (misses >= 4 && (++misses & 7) != 0) return kNotRanked;
    const int rank = walk(ordinal, size_class);
    if (rank != kNotRanked) misses = 0;
    else if (misses < 4) misses++;
    return rank;
  }

  /** Freed block `ordinal` is named by its ordinal as the block a new one reuses: it is taken. */
  void taken(uint64_t ordinal) {
    Slot& slot = slots_[ordinal & (kWindow - 1)];
    if (slot.owner == owner_of(ordinal) && slot.state == kFreed) slot.state = kTaken;
  }

  /** Forgets every block (a new capture numbers its blocks from 0 again). */
  void clear() {
    memset(slots_, 0, static_cast<size_t>(touched_ < kWindow ? touched_ : kWindow) * sizeof(Slot));
    memset(tops_, 0, format::kSizeClassCount * sizeof(uint64_t));
    memset(misses_, 0, sizeof(misses_));
    touched_ = 0;
  }

 private:
  int walk(uint64_t ordinal, uint32_t size_class) {
    uint64_t* link = &tops_[size_class];  // what points at the entry being looked at
    uint32_t rank = 0;
    while (*link != 0 && rank < kRankLimit) {
      const uint64_t entry = *link - 1;
      Slot& at = slots_[entry & (kWindow - 1)];
      if (at.owner != owner_of(entry)) {  // its slot went to a newer block: the list ends here
        *link = 0;
        break;
      }
      if (at.state != kFreed) {  // taken earlier: unlinked on the way
        *link = at.below;
        continue;
      }
      if (entry == ordinal) {
        *link = at.below;
        at.state = kTaken;
        return static_cast<int>(rank);
      }
      rank++;
      link = &at.below;
    }
    return kNotRanked;
  }

  enum State : uint8_t { kLive = 1, kFreed = 2, kTaken = 3 };
  struct Slot {
    uint64_t below;  // ordinal + 1 of the entry freed before this one in its list; 0 at the bottom
    uint32_t owner;  // which of the blocks with this slot's index has it (owner_of); 0 before any
    uint16_t size_class;
    uint8_t state;
  };
  static_assert(sizeof(Slot) == 16);
  // The slot's index is the ordinal's low bits: the rest tells its blocks apart.
  static uint32_t owner_of(uint64_t ordinal) { return static_cast<uint32_t>(ordinal / kWindow) + 1; }

  Slot* slots_;
  uint64_t* tops_;  // per size class: ordinal + 1 of the newest entry; 0 for an empty list
  uint8_t misses_[format::kSizeClassCount] = {};  // per size class: walks in a row that found nothing
  uint64_t touched_ = 0;
};

}  // namespace memview
