#include "stack_trie.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>

#include "raw_memory.h"

namespace memview {
namespace {

constexpr size_t kInitialSlots = 1 << 16;

}  // namespace

StackTrie::StackTrie()
    : slots_(static_cast<Slot*>(raw_allocate_populated(kInitialSlots * sizeof(Slot)))),
      mask_(kInitialSlots - 1),
      used_(0),
      next_id_(1),
      hashes_(static_cast<uint64_t*>(raw_allocate(kInitialSlots * sizeof(uint64_t)))),
      hashes_capacity_(kInitialSlots) {
  publish_for_prefetch();
}

StackTrie::~StackTrie() {
  raw_release(slots_, (mask_ + 1) * sizeof(Slot));
  raw_release(hashes_, hashes_capacity_ * sizeof(uint64_t));
}

void StackTrie::publish_for_prefetch() {
  prefetch_base_.store(reinterpret_cast<uintptr_t>(slots_), std::memory_order_relaxed);
  prefetch_mask_.store(mask_, std::memory_order_relaxed);
}

uint32_t StackTrie::child(uint32_t parent, uint64_t key, uint64_t hash, bool* created) {
  size_t index = hash & mask_;
  while (true) {
    Slot& slot = slots_[index];
    if (slot.id == 0) break;
    if (slot.pc == key && slot.parent == parent) {
      *created = false;
      return slot.id;
    }
    index = (index + 1) & mask_;
  }
  if ((used_ + 1) * 4 > (mask_ + 1) * 3) {
    grow();
    return child(parent, key, hash, created);
  }
  Slot& slot = slots_[index];
  slot.pc = key;
  slot.parent = parent;
  slot.id = next_id_++;
  // Ids stay below the slot count (the table is at most 3/4 full), which hashes_ matches.
  hashes_[slot.id] = hash;
  used_++;
  *created = true;
  return slot.id;
}

void StackTrie::grow() {
  Slot* old_slots = slots_;
  size_t old_capacity = mask_ + 1;
  size_t capacity = old_capacity * 2;
  slots_ = static_cast<Slot*>(raw_allocate_populated(capacity * sizeof(Slot)));
  mask_ = capacity - 1;
  for (size_t i = 0; i < old_capacity; i++) {
    const Slot& old_slot = old_slots[i];
    if (old_slot.id == 0) continue;
    size_t index = hashes_[old_slot.id] & mask_;
    while (slots_[index].id != 0) index = (index + 1) & mask_;
    slots_[index] = old_slot;
  }
  raw_release(old_slots, old_capacity * sizeof(Slot));
  uint64_t* old_hashes = hashes_;
  hashes_ = static_cast<uint64_t*>(raw_allocate(capacity * sizeof(uint64_t)));
  memcpy(hashes_, old_hashes, next_id_ * sizeof(uint64_t));
  raw_release(old_hashes, hashes_capacity_ * sizeof(uint64_t));
  hashes_capacity_ = capacity;
  publish_for_prefetch();
}

void StackTrie::reset() {
  if (mask_ + 1 == kInitialSlots) {
    // Zeroing the pages it has is far cheaper than populating new ones: a reset comes right after
    // V8 lists its code, at the start of every traced node process.
    memset(slots_, 0, kInitialSlots * sizeof(Slot));
  } else {
    raw_release(slots_, (mask_ + 1) * sizeof(Slot));
    slots_ = static_cast<Slot*>(raw_allocate_populated(kInitialSlots * sizeof(Slot)));
    raw_release(hashes_, hashes_capacity_ * sizeof(uint64_t));
    hashes_ = static_cast<uint64_t*>(raw_allocate(kInitialSlots * sizeof(uint64_t)));
    hashes_capacity_ = kInitialSlots;
  }
  mask_ = kInitialSlots - 1;
  used_ = 0;
  next_id_ = 1;
  publish_for_prefetch();
}

}  // namespace memview
