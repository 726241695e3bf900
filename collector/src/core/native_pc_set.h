// The set of native pcs written in STACK records, kept across trie resets so that every one of
// them gets a SYMBOL record at the end of the run.
#pragma once
#include <cstddef>
#include <cstdint>

#include "raw_memory.h"

namespace memview {

class NativePcSet {
 public:
  NativePcSet() : slots_(static_cast<uint64_t*>(raw_allocate(kInitial * sizeof(uint64_t)))), mask_(kInitial - 1), used_(0) {}

  void insert(uint64_t pc) {
    size_t index = hash(pc) & mask_;
    while (slots_[index] != 0) {
      if (slots_[index] == pc) return;
      index = (index + 1) & mask_;
    }
    slots_[index] = pc;
    if (++used_ * 4 > (mask_ + 1) * 3) grow();
  }

  /** Forgets every pc (a new capture starts with no STACK records). */
  void clear() {
    for (size_t i = 0; i <= mask_; i++) slots_[i] = 0;
    used_ = 0;
  }

  template <typename Visitor>
  void for_each(Visitor&& visit) const {
    for (size_t i = 0; i <= mask_; i++)
      if (slots_[i] != 0) visit(slots_[i]);
  }

 private:
  static constexpr size_t kInitial = 1 << 14;
  static size_t hash(uint64_t pc) { return static_cast<size_t>((pc * 0x9E3779B97F4A7C15ull) >> 20); }
  void grow() {
    uint64_t* old = slots_;
    size_t old_capacity = mask_ + 1;
    slots_ = static_cast<uint64_t*>(raw_allocate(old_capacity * 2 * sizeof(uint64_t)));
    mask_ = old_capacity * 2 - 1;
    for (size_t i = 0; i < old_capacity; i++) {
      if (old[i] == 0) continue;
      size_t index = hash(old[i]) & mask_;
      while (slots_[index] != 0) index = (index + 1) & mask_;
      slots_[index] = old[i];
    }
    raw_release(old, old_capacity * sizeof(uint64_t));
  }
  uint64_t* slots_;
  size_t mask_;
  size_t used_;
};

}  // namespace memview
