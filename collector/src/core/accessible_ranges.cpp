#include "accessible_ranges.h"

#include <cstring>

#include "raw_memory.h"

namespace memview {

AccessibleRanges::AccessibleRanges() : ranges_(nullptr), count_(0), capacity_(0) { reserve(4096); }

AccessibleRanges::~AccessibleRanges() { raw_release(ranges_, capacity_ * sizeof(Range)); }

void AccessibleRanges::reserve(size_t needed) {
  if (needed <= capacity_) return;
  size_t capacity = capacity_ ? capacity_ : 4096;
  while (capacity < needed) capacity *= 2;
  Range* ranges = static_cast<Range*>(raw_allocate(capacity * sizeof(Range)));
  if (count_) memcpy(ranges, ranges_, count_ * sizeof(Range));
  if (ranges_) raw_release(ranges_, capacity_ * sizeof(Range));
  ranges_ = ranges;
  capacity_ = capacity;
}

size_t AccessibleRanges::first_ending_after(uint64_t address) const {
  size_t low = 0, high = count_;
  while (low < high) {
    size_t middle = (low + high) / 2;
    if (ranges_[middle].end <= address) low = middle + 1;
    else high = middle;
  }
  return low;
}

bool AccessibleRanges::any_accessible(uint64_t start, uint64_t end) const {
  size_t index = first_ending_after(start);
  return index < count_ && ranges_[index].start < end;
}

void AccessibleRanges::insert_merged(uint64_t start, uint64_t end) {
  // Ranges touching or overlapping [start, end) fold into one.
  size_t first = first_ending_after(start);
  if (first > 0 && ranges_[first - 1].end == start) first--;
  size_t last = first;
  while (last < count_ && ranges_[last].start <= end) {
    if (ranges_[last].start < start) start = ranges_[last].start;
    if (ranges_[last].end > end) end = ranges_[last].end;
    last++;
  }
  size_t removed = last - first;
  if (removed == 0) {
    reserve(count_ + 1);
    memmove(ranges_ + first + 1, ranges_ + first, (count_ - first) * sizeof(Range));
    count_++;
  } else if (removed > 1) {
    memmove(ranges_ + first + 1, ranges_ + last, (count_ - last) * sizeof(Range));
    count_ -= removed - 1;
  }
  ranges_[first] = {start, end};
}

void AccessibleRanges::erase(uint64_t start, uint64_t end) {
  size_t index = first_ending_after(start);
  if (index >= count_ || ranges_[index].start >= end) return;
  Range& first = ranges_[index];
  if (first.start < start && first.end > end) {
    // A hole in the middle splits one range in two.
    reserve(count_ + 1);
    Range& split = ranges_[index];
    memmove(ranges_ + index + 2, ranges_ + index + 1, (count_ - index - 1) * sizeof(Range));
    ranges_[index + 1] = {end, split.end};
    split.end = start;
    count_++;
    return;
  }
  if (first.start < start) {
    first.end = start;
    index++;
  }
  size_t last = index;
  while (last < count_ && ranges_[last].end <= end) last++;
  if (last < count_ && ranges_[last].start < end) ranges_[last].start = end;
  memmove(ranges_ + index, ranges_ + last, (count_ - last) * sizeof(Range));
  count_ -= last - index;
}

}  // namespace memview
