#include "lz4_block.h"

#include <cstring>

namespace memview {
namespace {

constexpr size_t kMinMatch = 4;
// The specification requires the last 5 bytes to be literals and the last match to start at
// least 12 bytes before the end of the block.
constexpr size_t kLastLiterals = 5;
constexpr size_t kMatchFindLimit = 12;

inline uint32_t read32(const uint8_t* p) {
  uint32_t value;
  memcpy(&value, p, 4);
  return value;
}

inline uint32_t hash4(uint32_t sequence) { return (sequence * 2654435761u) >> (32 - Lz4Scratch::kHashBits); }

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

size_t lz4_block_compress(const uint8_t* input, size_t input_size, uint8_t* output, Lz4Scratch* scratch,
                          int max_attempts) {
  uint8_t* out = output;
  const uint8_t* anchor = input;
  if (input_size >= kMatchFindLimit + 1) {
    memset(scratch->head, 0, sizeof(scratch->head));
    const uint8_t* const match_limit = input + input_size - kMatchFindLimit;
    const uint8_t* const match_end_limit = input + input_size - kLastLiterals;
    auto insert = [&](const uint8_t* position) {
      uint32_t index = static_cast<uint32_t>(position - input);
      uint32_t slot = hash4(read32(position));
      uint32_t previous_plus_one = scratch->head[slot];
      uint32_t distance = previous_plus_one ? index - (previous_plus_one - 1) : 0;
      scratch->chain[index & (Lz4Scratch::kWindow - 1)] = distance > 0xFFFF ? 0 : static_cast<uint16_t>(distance);
      scratch->head[slot] = index + 1;
    };
    const uint8_t* cursor = input;
    // Like LZ4's fast mode, step further the longer no match turns up: incompressible stretches
    // (random addresses) would otherwise cost a chain walk per byte.
    uint32_t misses = 0;
    while (cursor < match_limit) {
      uint32_t sequence = read32(cursor);
      uint32_t index = static_cast<uint32_t>(cursor - input);
      uint32_t candidate_plus_one = scratch->head[hash4(sequence)];
      const uint8_t* best = nullptr;
      size_t best_length = 0;
      if (candidate_plus_one != 0) {
        uint32_t candidate = candidate_plus_one - 1;
        for (int attempt = 0; attempt < max_attempts; attempt++) {
          if (index - candidate > 0xFFFF) break;
          const uint8_t* match = input + candidate;
          if (read32(match) == sequence) {
            const uint8_t* end = cursor + kMinMatch;
            const uint8_t* match_end = match + kMinMatch;
            while (end < match_end_limit && *end == *match_end) {
              end++;
              match_end++;
            }
            size_t length = static_cast<size_t>(end - cursor);
            if (length > best_length) {
              best_length = length;
              best = match;
              if (end >= match_end_limit) break;
            }
          }
          uint16_t step = scratch->chain[candidate & (Lz4Scratch::kWindow - 1)];
          if (step == 0 || step > candidate) break;
          candidate -= step;
        }
      }
      insert(cursor);
      if (best == nullptr) {
        cursor += 1 + (misses++ >> 5);
        continue;
      }
      misses = 0;
      // Extend the match backwards over pending literals.
      const uint8_t* start = cursor;
      while (start > anchor && best > input && start[-1] == best[-1]) {
        start--;
        best--;
        best_length++;
      }
      out = emit_sequence(out, anchor, static_cast<size_t>(start - anchor), static_cast<size_t>(start - best), best_length);
      const uint8_t* match_end = start + best_length;
      // In the cheap mode (poorly compressible data) only the match's last positions are indexed,
      // as LZ4's fast mode does: indexing every byte of every match costs more than it finds.
      const uint8_t* first_indexed = max_attempts > 1 || best_length < 8 ? cursor + 1 : match_end - 2;
      for (const uint8_t* position = first_indexed; position < match_end && position < match_limit; position++) insert(position);
      cursor = match_end;
      anchor = cursor;
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
