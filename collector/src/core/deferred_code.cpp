#include "deferred_code.h"

#include <utility>

namespace memview {

void DeferredCode::remove_overlapping(uint64_t start, uint64_t end) {
  auto it = entries_.upper_bound(start);
  if (it != entries_.begin()) {
    auto before = std::prev(it);
    if (before->second.end > start) it = before;
  }
  while (it != entries_.end() && it->first < end) {
    if (it->second.written) written_generation_++;
    it = entries_.erase(it);
  }
}

bool DeferredCode::add(CodeDescription&& code, uint64_t identity, uint64_t owner) {
  const uint64_t start = code.start, end = code.start + code.size;
  auto same = entries_.find(start);
  if (same != entries_.end() && same->second.end == end && same->second.identity == identity) return false;
  layout_generation_++;
  remove_overlapping(start, end);
  entries_.emplace(start, Entry{end, identity, owner, false, std::move(code)});
  return true;
}

DeferredCode::Move DeferredCode::move(uint64_t from, uint64_t to) {
  auto found = entries_.find(from);
  if (found == entries_.end()) return Move::kUnknown;
  if (found->second.written) written_generation_++;
  layout_generation_++;
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

const CodeDescription* DeferredCode::take_unwritten(uint64_t call_site, bool* covered) {
  Memo& memo = memos_[memo_index(call_site)];
  if (memo.start <= call_site && call_site < memo.end &&
      memo.generation == (memo.covered ? written_generation_ : layout_generation_)) {
    *covered = memo.covered;
    return nullptr;
  }
  auto it = entries_.upper_bound(call_site);  // the first code after call_site
  if (it == entries_.begin() || call_site >= std::prev(it)->second.end) {
    // In the gap between the code before call_site (if any) and the code after (if any).
    memo = Memo{it == entries_.begin() ? 0 : std::prev(it)->second.end, it == entries_.end() ? ~0ull : it->first,
                layout_generation_, false};
    *covered = false;
    return nullptr;
  }
  --it;
  Entry& entry = it->second;
  memo = Memo{it->first, entry.end, written_generation_, true};
  *covered = true;
  if (entry.written) return nullptr;
  entry.written = true;
  return &entry.code;
}

void DeferredCode::forget_written() {
  written_generation_++;
  for (auto& [start, entry] : entries_) entry.written = false;
}

}  // namespace memview
