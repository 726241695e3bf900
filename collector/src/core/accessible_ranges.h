// Which mapped pages are accessible: the rule that turns mmap/mprotect/munmap/mremap into MAP and
// UNMAP records (docs/capture-format.md, "address space is not memory"). V8 reserves gigabytes
// PROT_NONE and commits pages with mprotect, so only accessibility changes are memory.
#pragma once
#include <cstddef>
#include <cstdint>

namespace memview {

class AccessibleRanges {
 public:
  AccessibleRanges();
  ~AccessibleRanges();

  /** Marks [start, end) accessible; calls on_gain(a, b) for each part that was not. */
  template <typename Callback>
  void gain(uint64_t start, uint64_t end, Callback&& on_gain) {
    uint64_t cursor = start;
    size_t index = first_ending_after(start);
    while (cursor < end) {
      if (index >= count_ || ranges_[index].start >= end) {
        on_gain(cursor, end);
        break;
      }
      if (ranges_[index].start > cursor) on_gain(cursor, ranges_[index].start);
      cursor = ranges_[index].end;
      index++;
    }
    insert_merged(start, end);
  }

  /** Marks [start, end) inaccessible; calls on_loss(a, b) for each part that was accessible. */
  template <typename Callback>
  void lose(uint64_t start, uint64_t end, Callback&& on_loss) {
    for (size_t index = first_ending_after(start); index < count_ && ranges_[index].start < end; index++) {
      uint64_t a = ranges_[index].start > start ? ranges_[index].start : start;
      uint64_t b = ranges_[index].end < end ? ranges_[index].end : end;
      if (a < b) on_loss(a, b);
    }
    erase(start, end);
  }

  bool any_accessible(uint64_t start, uint64_t end) const;

 private:
  struct Range {
    uint64_t start;
    uint64_t end;
  };
  size_t first_ending_after(uint64_t address) const;
  void insert_merged(uint64_t start, uint64_t end);
  void erase(uint64_t start, uint64_t end);
  void reserve(size_t needed);
  Range* ranges_;
  size_t count_;
  size_t capacity_;
};

}  // namespace memview
