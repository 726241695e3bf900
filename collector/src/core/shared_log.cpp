#include "shared_log.h"

#include "raw_memory.h"

namespace memview {

SharedLog::Block* SharedLog::new_block(size_t at_least) {
  Block* block = nullptr;
  if (at_least <= kBlockSize && free_blocks_ != nullptr) {
    block = free_blocks_;
    free_blocks_ = block->next;
  } else {
    // A record bigger than a block (a code object with many positions) gets a block of its own.
    size_t capacity = at_least > kBlockSize ? at_least : kBlockSize;
    block = static_cast<Block*>(raw_allocate(sizeof(Block) + capacity));
    block->capacity = capacity;
  }
  block->next = nullptr;
  block->used = 0;
  return block;
}

uint8_t* SharedLog::append(uint64_t seq, SharedTag tag, uint32_t length) {
  size_t size = record_size(length);
  if (write_block_ == nullptr || write_block_->used + size > write_block_->capacity) {
    Block* block = new_block(size);
    if (write_block_ == nullptr) {
      first_block_ = read_block_ = block;
      read_offset_ = 0;
    } else {
      write_block_->next = block;
    }
    write_block_ = block;
  }
  SharedRecord* record = reinterpret_cast<SharedRecord*>(write_block_->data() + write_block_->used);
  record->seq = seq;
  record->length = length;
  record->tag = tag;
  write_block_->used += size;
  return reinterpret_cast<uint8_t*>(record + 1);
}

void SharedLog::release_blocks_before(Block* keep) {
  while (first_block_ != nullptr && first_block_ != keep) {
    Block* block = first_block_;
    first_block_ = block->next;
    if (block->capacity == kBlockSize) {
      block->next = free_blocks_;
      free_blocks_ = block;
    } else {
      raw_release(block, sizeof(Block) + block->capacity);
    }
  }
}

void SharedLog::release_consumed() { release_blocks_before(read_block_); }

void SharedLog::clear() {
  release_blocks_before(nullptr);
  write_block_ = read_block_ = nullptr;
  read_offset_ = 0;
}

}  // namespace memview
