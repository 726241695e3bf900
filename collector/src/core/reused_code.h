// V8 reuses the memory of JIT code it has discarded, so a return address seen twice may belong to
// two different functions. This keeps every code range ever reported and gives a reused range a
// *salt*: a pc inside it is interned in the stack trie as pc + (salt << 48) (user-space pcs fit in
// 47 bits), so stacks through the new code get new trie nodes, which readers resolve against the
// new code, while the nodes of the old code keep their names.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>

namespace memview {

class ReusedCode {
 public:
  enum class Outcome { kNew, kSalted, kOutOfSalts };

  /**
   * New code at [start, end) (added or moved there), `identity` naming what it is (its name and
   * script). kSalted: it overlaps code seen before and its pcs now intern differently (per-thread
   * stack caches must be dropped). kOutOfSalts: the same, but no salt is left: the caller must
   * reset the trie, then call forget_salts(). The same code reported again at the same place (V8
   * lists its builtins, shared by every isolate, to each worker's handler) is not reuse: kNew.
   */
  Outcome note_code(uint64_t start, uint64_t end, uint64_t identity);

  /**
   * Code that held [start, end) is gone and no stack ever went through it: no interned pc can
   * be taken for the code that comes there next, so the range need not be kept. (A range whose
   * pcs were interned stays: the next code there must be salted.)
   */
  void forget_unreferenced(uint64_t start, uint64_t end) {
    auto found = code_ranges_.find(start);
    if (found != code_ranges_.end() && found->second.end == end) code_ranges_.erase(found);
  }

  /** Length of a range known to hold code that started at `start`, or 0. */
  uint64_t length_of(uint64_t start) const;

  /** The identity the code that started at `start` was reported with, or 0. */
  uint64_t identity_of(uint64_t start) const;

  /** The trie key of `pc`. */
  uint64_t key(uint64_t pc) const {
    if (salted_count_ == 0) return pc;
    size_t low = 0, high = salted_count_;
    while (low < high) {
      size_t middle = (low + high) / 2;
      if (salted_[middle].end <= pc) low = middle + 1;
      else high = middle;
    }
    if (low < salted_count_ && salted_[low].start <= pc) return pc + (salted_[low].salt << 48);
    return pc;
  }

  /** After a trie reset no interned pc is left, so no range needs a salt any more. */
  void forget_salts() {
    salted_count_ = 0;
    next_salt_ = 1;
  }

 private:
  struct SaltedRange {
    uint64_t start;
    uint64_t end;
    uint64_t salt;
  };
  static constexpr uint64_t kMaxSalt = 0xFFFF;
  void salt(uint64_t start, uint64_t end);

  struct CodeRange {
    uint64_t end;
    uint64_t identity;
  };
  std::map<uint64_t, CodeRange> code_ranges_;  // by start, live or discarded
  SaltedRange* salted_ = nullptr;             // sorted, disjoint
  size_t salted_count_ = 0;
  size_t salted_capacity_ = 0;
  uint64_t next_salt_ = 1;
};

}  // namespace memview
