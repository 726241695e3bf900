// The capture's string dictionary: each distinct string and the id of its STRING record. It lives
// in raw memory, never in the process's allocator: it is filled under the core's lock, and a
// program with its own allocator (Chromium exports malloc and operator new, which then win over
// memview's, even for memview's own calls) may hold that allocator's lock while it waits for the
// core's (an mmap from inside the allocator). Taking the allocator's lock under the core's would
// deadlock both.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "raw_memory.h"

namespace memview {

class StringTable {
 public:
  StringTable() : slots_(allocate_slots(kInitialSlots)), mask_(kInitialSlots - 1) {}

  /** The id stored for `text`, or 0 when it has none. */
  uint32_t find(const char* text, size_t length) const {
    const uint64_t hash = hash_of(text, length);
    for (size_t index = hash & mask_;; index = (index + 1) & mask_) {
      const Slot& slot = slots_[index];
      if (slot.id == 0) return 0;
      if (slot.hash == hash && slot.length == length && memcmp(slot.text, text, length) == 0) return slot.id;
    }
  }

  /** Stores `text` (not in the table yet) with `id` (not 0). */
  void add(const char* text, size_t length, uint32_t id) {
    if ((used_ + 1) * 2 > mask_ + 1) grow();
    char* copy = copy_text(text, length);
    place(Slot{hash_of(text, length), copy, static_cast<uint32_t>(length), id});
    used_++;
  }

  /** Forgets every string (a new capture defines its own). */
  void clear() {
    // A grown table is given back rather than zeroed: in a followed fork child, zeroing would
    // copy every one of its pages.
    if (mask_ + 1 > kInitialSlots) {
      raw_release(slots_, (mask_ + 1) * sizeof(Slot));
      slots_ = allocate_slots(kInitialSlots);
      mask_ = kInitialSlots - 1;
    } else {
      memset(slots_, 0, kInitialSlots * sizeof(Slot));
    }
    used_ = 0;
    while (block_ != nullptr) {
      Block* previous = block_->previous;
      raw_release(block_, block_->size);
      block_ = previous;
    }
  }

 private:
  struct Slot {
    uint64_t hash;
    const char* text;
    uint32_t length;
    uint32_t id;  // 0: empty
  };
  // Strings are copied into blocks taken from the kernel; a block starts with this header.
  struct Block {
    Block* previous;
    size_t size;
    size_t used;
  };
  static constexpr size_t kInitialSlots = 1 << 12;
  static constexpr size_t kBlockSize = 1 << 18;

  // Populated: probes read a slot before writing it (raw_memory.h says why that matters).
  static Slot* allocate_slots(size_t count) { return static_cast<Slot*>(raw_allocate_populated(count * sizeof(Slot))); }

  static uint64_t hash_of(const char* text, size_t length) {
    uint64_t hash = 0xcbf29ce484222325ull ^ length;
    for (size_t i = 0; i < length; i++) hash = (hash ^ static_cast<uint8_t>(text[i])) * 0x100000001b3ull;
    return hash ^ (hash >> 29);
  }

  char* copy_text(const char* text, size_t length) {
    if (block_ == nullptr || block_->used + length > block_->size) {
      const size_t size = length + sizeof(Block) > kBlockSize ? length + sizeof(Block) : kBlockSize;
      Block* block = static_cast<Block*>(raw_allocate(size));
      *block = Block{block_, size, sizeof(Block)};
      block_ = block;
    }
    char* copy = reinterpret_cast<char*>(block_) + block_->used;
    memcpy(copy, text, length);
    block_->used += length;
    return copy;
  }

  void place(const Slot& entry) {
    size_t index = entry.hash & mask_;
    while (slots_[index].id != 0) index = (index + 1) & mask_;
    slots_[index] = entry;
  }

  void grow() {
    Slot* old = slots_;
    const size_t old_count = mask_ + 1;
    slots_ = allocate_slots(old_count * 2);
    mask_ = old_count * 2 - 1;
    for (size_t i = 0; i < old_count; i++)
      if (old[i].id != 0) place(old[i]);
    raw_release(old, old_count * sizeof(Slot));
  }

  Slot* slots_;
  size_t mask_;
  size_t used_ = 0;
  Block* block_ = nullptr;
};

}  // namespace memview
