#include "reused_code.h"

#include <cstring>

#include "raw_memory.h"

namespace memview {

ReusedCode::Outcome ReusedCode::note_code(uint64_t start, uint64_t end) {
  auto overlap = code_ranges_.upper_bound(start);
  if (overlap != code_ranges_.begin()) --overlap;
  bool reused = false;
  while (overlap != code_ranges_.end() && overlap->first < end) {
    if (overlap->second > start) {
      overlap = code_ranges_.erase(overlap);
      reused = true;
    } else {
      ++overlap;
    }
  }
  code_ranges_[start] = end;
  if (!reused) return Outcome::kNew;
  if (next_salt_ > kMaxSalt) return Outcome::kOutOfSalts;
  salt(start, end);
  return Outcome::kSalted;
}

uint64_t ReusedCode::length_of(uint64_t start) const {
  auto found = code_ranges_.find(start);
  return found == code_ranges_.end() ? 0 : found->second - start;
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
  // Cut [start, end) out of the existing salted ranges (a range around it splits in two: the
  // capacity check above left room for that one extra), then insert it with a fresh salt.
  size_t write = 0;
  for (size_t read = 0; read < salted_count_; read++) {
    SaltedRange range = salted_[read];
    if (range.end <= start || range.start >= end) {
      salted_[write++] = range;
      continue;
    }
    SaltedRange pieces[2];
    int count = 0;
    if (range.start < start) pieces[count++] = {range.start, start, range.salt};
    if (range.end > end) pieces[count++] = {end, range.end, range.salt};
    for (int i = 0; i < count; i++) salted_[write++] = pieces[i];
  }
  salted_count_ = write;
  size_t position = 0;
  while (position < salted_count_ && salted_[position].start < start) position++;
  memmove(salted_ + position + 1, salted_ + position, (salted_count_ - position) * sizeof(SaltedRange));
  salted_[position] = {start, end, next_salt_++};
  salted_count_++;
}

}  // namespace memview
