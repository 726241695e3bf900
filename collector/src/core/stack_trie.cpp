#include "stack_trie.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>

#include "raw_memory.h"

namespace memview {
namespace {

constexpr size_t kInitialSlots = 1 << 16;

inline size_t slot_hash(uint32_t parent, uint64_t pc) {
  uint64_t key = pc * 0x9E3779B97F4A7C15ull ^ (static_cast<uint64_t>(parent) * 0xC2B2AE3D27D4EB4Full);
  return static_cast<size_t>(key ^ (key >> 29));
}

}  // namespace

StackTrie::StackTrie()
    : slots_(static_cast<Slot*>(raw_allocate_populated(kInitialSlots * sizeof(Slot)))),
      mask_(kInitialSlots - 1),
      used_(0),
      next_id_(1) {}

StackTrie::~StackTrie() { raw_release(slots_, (mask_ + 1) * sizeof(Slot)); }

uint32_t StackTrie::child(uint32_t parent, uint64_t pc, bool* created) {
  size_t index = slot_hash(parent, pc) & mask_;
  while (true) {
    Slot& slot = slots_[index];
    if (slot.id == 0) break;
    if (slot.pc == pc && slot.parent == parent) {
      *created = false;
      return slot.id;
    }
    index = (index + 1) & mask_;
  }
  if ((used_ + 1) * 4 > (mask_ + 1) * 3) {
    grow();
    return child(parent, pc, created);
  }
  Slot& slot = slots_[index];
  slot.pc = pc;
  slot.parent = parent;
  slot.id = next_id_++;
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
    size_t index = slot_hash(old_slot.parent, old_slot.pc) & mask_;
    while (slots_[index].id != 0) index = (index + 1) & mask_;
    slots_[index] = old_slot;
  }
  raw_release(old_slots, old_capacity * sizeof(Slot));
}

void StackTrie::reset() {
  if (mask_ + 1 == kInitialSlots) {
    // Zeroing the pages it has is far cheaper than populating new ones: a reset comes right after
    // V8 lists its code, at the start of every traced node process.
    memset(slots_, 0, kInitialSlots * sizeof(Slot));
  } else {
    raw_release(slots_, (mask_ + 1) * sizeof(Slot));
    slots_ = static_cast<Slot*>(raw_allocate_populated(kInitialSlots * sizeof(Slot)));
  }
  mask_ = kInitialSlots - 1;
  used_ = 0;
  next_id_ = 1;
}

}  // namespace memview
