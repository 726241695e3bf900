// The records that are not per-thread events: new stack nodes, strings, code objects, modules,
// metadata, mappings, clock and RSS samples. They are rare, they must keep their order with the
// events (a stack node before the first event that uses it), and several of them update shared
// tables, so they are appended under the tracker's lock, each with a number from the same
// sequence counter as the events, and the writer thread merges them in.
//
// Memory comes in blocks straight from the kernel; the writer hands consumed blocks back.
#pragma once
#include <cstddef>
#include <cstdint>

namespace memview {

enum SharedTag : uint8_t {
  kSharedBytes = 1,  // payload: capture records, encoded already (nothing in them is a delta)
  kSharedStack = 2,  // payload: SharedStack
  kSharedMap = 3,    // payload: SharedMapping (MAP)
  kSharedUnmap = 4,  // payload: SharedMapping (UNMAP)
  kSharedEvent = 5,  // payload: RawEvent, from a thread that has no ring (it is exiting)
  kSharedTime = 6,   // payload: uint64_t ns since start, then RSS bytes (0 = none)
};

struct SharedRecord {
  uint64_t seq;
  uint32_t length;  // of the payload
  uint8_t tag;
  uint8_t padding[3];
  const uint8_t* payload() const { return reinterpret_cast<const uint8_t*>(this + 1); }
};

struct SharedStack {
  uint32_t child;
  uint32_t parent;
  uint64_t pc;
};

struct SharedMapping {
  uint64_t start;
  uint64_t end;
  uint32_t stack;
  uint32_t tid;
  uint8_t cause;
};

struct SharedTime {
  uint64_t ns_since_start;
  uint64_t rss_bytes;
};

class SharedLog {
 public:
  /** Appends a record; caller holds the tracker's lock. Returns where the payload goes. */
  uint8_t* append(uint64_t seq, SharedTag tag, uint32_t length);

  /**
   * Calls visit(record) for records with seq < end, in order, and moves past them; caller holds
   * the lock. The records stay readable until release_consumed().
   */
  template <typename Visit>
  void consume_below(uint64_t end, Visit&& visit) {
    while (read_block_ != nullptr) {
      if (read_offset_ >= read_block_->used) {
        if (read_block_ == write_block_ || read_block_->next == nullptr) return;
        read_block_ = read_block_->next;
        read_offset_ = 0;
        continue;
      }
      const SharedRecord* record = reinterpret_cast<const SharedRecord*>(read_block_->data() + read_offset_);
      if (record->seq >= end) return;
      visit(record);
      read_offset_ += record_size(record->length);
    }
  }

  /** Returns blocks the reader has left to the free list; caller holds the lock. */
  void release_consumed();

  /** Forgets everything (a forked child starting a capture of its own); caller holds the lock. */
  void clear();

 private:
  struct Block {
    Block* next;
    size_t capacity;
    size_t used;
    uint8_t* data() { return reinterpret_cast<uint8_t*>(this + 1); }
  };
  static size_t record_size(uint32_t length) { return (sizeof(SharedRecord) + length + 7) & ~size_t{7}; }
  Block* new_block(size_t at_least);
  /** Hands every block before `keep` (all of them for null) back to the free list or the kernel. */
  void release_blocks_before(Block* keep);

  static constexpr size_t kBlockSize = 256 << 10;
  Block* first_block_ = nullptr;  // oldest block not yet released
  Block* write_block_ = nullptr;
  Block* read_block_ = nullptr;
  size_t read_offset_ = 0;
  Block* free_blocks_ = nullptr;
};

}  // namespace memview
