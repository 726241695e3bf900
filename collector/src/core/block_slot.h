// A heap block in the writer's tables keyed by address (live_blocks.h, freed_blocks.h): the slot
// both store, and where an address lands in a table of 2^bits slots.
#pragma once
#include <cstddef>
#include <cstdint>

namespace memview {

struct BlockSlot {
  uint64_t key;  // address + 1; 0 marks an empty slot
  uint64_t ordinal;
};

inline size_t block_address_hash(uint64_t address, unsigned bits) {
  // Heap blocks are 16-byte aligned: the low bits carry nothing. Fibonacci hashing keeps the top
  // bits of the product, where every address bit has mixed in.
  return static_cast<size_t>(((address >> 4) * 0x9E3779B97F4A7C15ull) >> (64 - bits));
}

}  // namespace memview
