// The set of native pcs written in STACK records, kept across trie resets so that every one of
// them gets a SYMBOL record: the writer names those not named yet as the run goes, and the end of
// the run names the rest. Each pc keeps how many objects were loaded when it was first seen: a
// library unloaded and loaded again elsewhere (a worker's addon after the previous worker's exit)
// leaves its old entry in the module map, and the pc must be named from the load that was live
// then, the newest one before that count. Used under the tracker's lock.
#pragma once
#include <cstddef>
#include <cstdint>

#include "raw_memory.h"

namespace memview {

class NativePcSet {
 public:
  NativePcSet()
      : slots_(static_cast<uint64_t*>(raw_allocate(kInitial * sizeof(uint64_t)))),
        modules_seen_(static_cast<uint32_t*>(raw_allocate(kInitial * sizeof(uint32_t)))),
        mask_(kInitial - 1),
        used_(0),
        unnamed_(0) {}

  /** Adds `pc`, seen while `modules_loaded` objects were known (kept from its first insert). */
  void insert(uint64_t pc, uint32_t modules_loaded) {
    size_t index = hash(pc) & mask_;
    while (slots_[index] != 0) {
      if (slots_[index] == pc) return;
      index = (index + 1) & mask_;
    }
    slots_[index] = pc;
    modules_seen_[index] = modules_loaded;
    unnamed_++;
    if (++used_ * 4 > (mask_ + 1) * 3) grow();
  }

  /** Forgets every pc (a new capture starts with no STACK records). */
  void clear() {
    for (size_t i = 0; i <= mask_; i++) slots_[i] = 0;
    used_ = 0;
    unnamed_ = 0;
  }

  /** How many pcs have not been taken by take_unnamed. */
  size_t unnamed() const { return unnamed_; }

  /**
   * Copies up to `capacity` pcs not taken before, with their module counts, and counts them as
   * named from now on; returns how many.
   */
  size_t take_unnamed(uint64_t* pcs, uint32_t* modules_loaded, size_t capacity) {
    size_t taken = 0;
    for (size_t i = 0; i <= mask_ && taken < capacity && unnamed_ > 0; i++) {
      if (slots_[i] == 0 || (modules_seen_[i] & kNamed)) continue;
      pcs[taken] = slots_[i];
      modules_loaded[taken] = modules_seen_[i];
      modules_seen_[i] |= kNamed;
      unnamed_--;
      taken++;
    }
    return taken;
  }

 private:
  static constexpr size_t kInitial = 1 << 14;
  // Set in a pc's module count once take_unnamed has handed it out (module counts stay far below).
  static constexpr uint32_t kNamed = 1u << 31;
  static size_t hash(uint64_t pc) { return static_cast<size_t>((pc * 0x9E3779B97F4A7C15ull) >> 20); }
  void grow() {
    uint64_t* old = slots_;
    uint32_t* old_seen = modules_seen_;
    size_t old_capacity = mask_ + 1;
    slots_ = static_cast<uint64_t*>(raw_allocate(old_capacity * 2 * sizeof(uint64_t)));
    modules_seen_ = static_cast<uint32_t*>(raw_allocate(old_capacity * 2 * sizeof(uint32_t)));
    mask_ = old_capacity * 2 - 1;
    for (size_t i = 0; i < old_capacity; i++) {
      if (old[i] == 0) continue;
      size_t index = hash(old[i]) & mask_;
      while (slots_[index] != 0) index = (index + 1) & mask_;
      slots_[index] = old[i];
      modules_seen_[index] = old_seen[i];
    }
    raw_release(old, old_capacity * sizeof(uint64_t));
    raw_release(old_seen, old_capacity * sizeof(uint32_t));
  }
  uint64_t* slots_;
  uint32_t* modules_seen_;
  size_t mask_;
  size_t used_;
  size_t unnamed_;
};

}  // namespace memview
