#include "lz4_block.h"

#include <cstring>

namespace memview {
namespace {

constexpr size_t kMinMatch = 4;
// The specification requires the last 5 bytes to be literals and the last match to start at
// least 12 bytes before the end of the block.
constexpr size_t kLastLiterals = 5;
constexpr size_t kMatchFindLimit = 12;
constexpr int kHashBits = 16;

inline uint32_t read32(const uint8_t* p) {
  uint32_t value;
  memcpy(&value, p, 4);
  return value;
}

inline uint32_t hash4(uint32_t sequence) { return (sequence * 2654435761u) >> (32 - kHashBits); }

inline uint8_t* write_length(uint8_t* out, size_t length) {
  while (length >= 255) {
    *out++ = 255;
    length -= 255;
  }
  *out++ = static_cast<uint8_t>(length);
  return out;
}

inline uint8_t* emit_sequence(uint8_t* out, const uint8_t* literals, size_t literal_length,
                              size_t offset, size_t match_length) {
  uint8_t* token = out++;
  uint8_t token_value = 0;
  if (literal_length >= 15) {
    token_value = 15 << 4;
    out = write_length(out, literal_length - 15);
  } else {
    token_value = static_cast<uint8_t>(literal_length << 4);
  }
  memcpy(out, literals, literal_length);
  out += literal_length;
  *out++ = static_cast<uint8_t>(offset);
  *out++ = static_cast<uint8_t>(offset >> 8);
  size_t match_code = match_length - kMinMatch;
  if (match_code >= 15) {
    token_value |= 15;
    out = write_length(out, match_code - 15);
  } else {
    token_value |= static_cast<uint8_t>(match_code);
  }
  *token = token_value;
  return out;
}

}  // namespace

size_t lz4_block_compress(const uint8_t* input, size_t input_size, uint8_t* output,
                          uint32_t* hash_table) {
  uint8_t* out = output;
  const uint8_t* anchor = input;
  if (input_size >= kMatchFindLimit + 1) {
    memset(hash_table, 0, sizeof(uint32_t) << kHashBits);
    const uint8_t* const match_limit = input + input_size - kMatchFindLimit;
    const uint8_t* const match_end_limit = input + input_size - kLastLiterals;
    // Positions are stored +1 so that 0 means "empty slot".
    const uint8_t* cursor = input;
    while (cursor < match_limit) {
      uint32_t sequence = read32(cursor);
      uint32_t slot = hash4(sequence);
      uint32_t candidate_plus_one = hash_table[slot];
      hash_table[slot] = static_cast<uint32_t>(cursor - input) + 1;
      if (candidate_plus_one != 0) {
        const uint8_t* candidate = input + candidate_plus_one - 1;
        size_t offset = static_cast<size_t>(cursor - candidate);
        if (offset <= 0xFFFF && read32(candidate) == sequence) {
          // Extend the match backwards over pending literals, then forwards.
          while (cursor > anchor && candidate > input && cursor[-1] == candidate[-1]) {
            cursor--;
            candidate--;
          }
          const uint8_t* match_end = cursor + kMinMatch;
          const uint8_t* candidate_end = candidate + kMinMatch;
          while (match_end < match_end_limit && *match_end == *candidate_end) {
            match_end++;
            candidate_end++;
          }
          out = emit_sequence(out, anchor, static_cast<size_t>(cursor - anchor), offset,
                              static_cast<size_t>(match_end - cursor));
          // Index one position inside the match so repeated patterns keep finding matches.
          if (match_end - 2 > cursor) {
            hash_table[hash4(read32(match_end - 2))] = static_cast<uint32_t>(match_end - 2 - input) + 1;
          }
          cursor = match_end;
          anchor = cursor;
          continue;
        }
      }
      cursor++;
    }
  }
  // Final literals-only sequence.
  size_t literal_length = static_cast<size_t>(input + input_size - anchor);
  uint8_t* token = out++;
  if (literal_length >= 15) {
    *token = 15 << 4;
    out = write_length(out, literal_length - 15);
  } else {
    *token = static_cast<uint8_t>(literal_length << 4);
  }
  memcpy(out, anchor, literal_length);
  out += literal_length;
  return static_cast<size_t>(out - output);
}

}  // namespace memview
