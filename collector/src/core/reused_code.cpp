#include "reused_code.h"

#include <cstring>

#include "raw_memory.h"

namespace memview {

ReusedCode::Outcome ReusedCode::note_code(uint64_t start, uint64_t end, uint64_t identity) {
  auto same = code_ranges_.find(start);
  if (same != code_ranges_.end() && same->second.end == end && same->second.identity == identity) return Outcome::kNew;
  auto overlap = code_ranges_.upper_bound(start);
  if (overlap != code_ranges_.begin()) --overlap;
  bool reused = false;
  while (overlap != code_ranges_.end() && overlap->first < end) {
    if (overlap->second.end > start) {
      overlap = code_ranges_.erase(overlap);
      reused = true;
    } else {
      ++overlap;
    }
  }
  code_ranges_[start] = {end, identity};
  if (!reused) return Outcome::kNew;
  if (next_salt_ > kMaxSalt) return Outcome::kOutOfSalts;
  salt(start, end);
  return Outcome::kSalted;
}

uint64_t ReusedCode::length_of(uint64_t start) const {
  auto found = code_ranges_.find(start);
  return found == code_ranges_.end() ? 0 : found->second.end - start;
}

uint64_t ReusedCode::identity_of(uint64_t start) const {
  auto found = code_ranges_.find(start);
  return found == code_ranges_.end() ? 0 : found->second.identity;
}

void ReusedCode::salt(uint64_t start, uint64_t end) {
  if (salted_count_ + 2 > salted_capacity_) {
    size_t capacity = salted_capacity_ ? salted_capacity_ * 2 : 256;
    SaltedRange* grown = static_cast<SaltedRange*>(raw_allocate(capacity * sizeof(SaltedRange)));
    if (salted_count_) memcpy(grown, salted_, salted_count_ * sizeof(SaltedRange));
    if (salted_) raw_release(salted_, salted_capacity_ * sizeof(SaltedRange));
    salted_ = grown;
    salted_capacity_ = capacity;
  }
  // Cut [start, end) out of the salted ranges it overlaps (a range around it splits in two: the
  // capacity check above left room for that one extra) and put it in their place with a fresh
  // salt. Binary search for the first overlap: workers and code flushing salt thousands of ranges.
  size_t first = 0, high = salted_count_;
  while (first < high) {
    size_t middle = (first + high) / 2;
    if (salted_[middle].end <= start) first = middle + 1;
    else high = middle;
  }
  size_t last = first;  // one past the last overlapping range
  while (last < salted_count_ && salted_[last].start < end) last++;
  SaltedRange replacement[3];
  int count = 0;
  if (first < last && salted_[first].start < start) replacement[count++] = {salted_[first].start, start, salted_[first].salt};
  replacement[count++] = {start, end, next_salt_++};
  if (first < last && salted_[last - 1].end > end) replacement[count++] = {end, salted_[last - 1].end, salted_[last - 1].salt};
  size_t removed = last - first;
  memmove(salted_ + first + count, salted_ + last, (salted_count_ - last) * sizeof(SaltedRange));
  memcpy(salted_ + first, replacement, count * sizeof(SaltedRange));
  salted_count_ = salted_count_ - removed + static_cast<size_t>(count);
}

}  // namespace memview
