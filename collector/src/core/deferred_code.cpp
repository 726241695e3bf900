#include "deferred_code.h"

#include <utility>

namespace memview {

void DeferredCode::remove_overlapping(uint64_t start, uint64_t end) {
  auto it = entries_.upper_bound(start);
  if (it != entries_.begin()) {
    auto before = std::prev(it);
    if (before->second.end > start) it = before;
  }
  while (it != entries_.end() && it->first < end) it = entries_.erase(it);
}

bool DeferredCode::add(CodeDescription&& code, uint64_t identity) {
  forget_recent();
  const uint64_t start = code.start, end = code.start + code.size;
  auto same = entries_.find(start);
  if (same != entries_.end() && same->second.end == end && same->second.identity == identity) return false;
  remove_overlapping(start, end);
  entries_.emplace(start, Entry{end, identity, false, std::move(code)});
  return true;
}

DeferredCode::Move DeferredCode::move(uint64_t from, uint64_t to) {
  forget_recent();
  auto found = entries_.find(from);
  if (found == entries_.end()) return Move::kUnknown;
  Entry entry = std::move(found->second);
  entries_.erase(found);
  const uint64_t length = entry.end - from;
  remove_overlapping(to, to + length);
  entry.end = to + length;
  entry.code.start = to;
  const bool written = entry.written;
  entries_.emplace(to, std::move(entry));
  return written ? Move::kWritten : Move::kPending;
}

const CodeDescription* DeferredCode::take_unwritten(uint64_t call_site) {
  if (call_site - recent_start_ < recent_end_ - recent_start_) return nullptr;
  auto it = entries_.upper_bound(call_site);
  if (it == entries_.begin()) return nullptr;
  --it;
  Entry& entry = it->second;
  if (call_site >= entry.end) return nullptr;
  recent_start_ = it->first;
  recent_end_ = entry.end;
  if (entry.written) return nullptr;
  entry.written = true;
  taken_ = std::move(entry.code);
  entry.code = CodeDescription();
  return &taken_;
}

void DeferredCode::clear() {
  forget_recent();
  entries_.clear();
  taken_ = CodeDescription();
}

}  // namespace memview
