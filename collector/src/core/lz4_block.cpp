#include "lz4_block.h"

#include <cstring>

namespace memview {
namespace {

constexpr size_t kMinMatch = 4;
// The specification requires the last 5 bytes to be literals and the last match to start at
// least 12 bytes before the end of the block.
constexpr size_t kLastLiterals = 5;
constexpr size_t kMatchFindLimit = 12;
// How many positions at each end of a long match the hash chains index.
constexpr long kIndexedMatchEnds = 8;

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

// The token's literal half, the literal length's extra bytes and the literals; returns the end.
inline uint8_t* write_literals(uint8_t* token, const uint8_t* literals, size_t literal_length) {
  uint8_t* out = token + 1;
  if (literal_length >= 15) {
    *token = 15 << 4;
    out = write_length(out, literal_length - 15);
  } else {
    *token = static_cast<uint8_t>(literal_length << 4);
  }
  memcpy(out, literals, literal_length);
  return out + literal_length;
}

inline uint64_t read64(const uint8_t* p) {
  uint64_t value;
  memcpy(&value, p, 8);
  return value;
}

// Where a match that already agrees on kMinMatch bytes ends (it may run up to `limit`). Eight
// bytes at a time: the first differing byte is the lowest set byte of the XOR (little-endian).
inline const uint8_t* match_end(const uint8_t* at, const uint8_t* match, const uint8_t* limit) {
  const uint8_t* end = at + kMinMatch;
  match += kMinMatch;
  while (end + 8 <= limit) {
    uint64_t difference = read64(end) ^ read64(match);
    if (difference != 0) return end + (__builtin_ctzll(difference) >> 3);
    end += 8;
    match += 8;
  }
  while (end < limit && *end == *match) {
    end++;
    match++;
  }
  return end;
}

inline uint8_t* emit_sequence(uint8_t* out, const uint8_t* literals, size_t literal_length,
                              size_t offset, size_t match_length) {
  uint8_t* token = out;
  out = write_literals(token, literals, literal_length);
  uint8_t token_value = *token;
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

// The last literals-only sequence.
inline uint8_t* emit_last_literals(uint8_t* out, const uint8_t* anchor, size_t literal_length) {
  return write_literals(out, anchor, literal_length);
}

// One probe per position and no chains, as LZ4's fast mode: for data that compresses poorly
// (random addresses), where searching harder finds little and costs the writer thread its time.
size_t compress_single_probe(const uint8_t* input, size_t input_size, uint8_t* output, Lz4Scratch* scratch) {
  uint8_t* out = output;
  const uint8_t* anchor = input;
  if (input_size >= kMatchFindLimit + 1) {
    memset(scratch->head, 0, sizeof(scratch->head));
    const uint8_t* const match_limit = input + input_size - kMatchFindLimit;
    const uint8_t* const match_end_limit = input + input_size - kLastLiterals;
    const uint8_t* cursor = input;
    uint32_t misses = 0;
    while (cursor < match_limit) {
      uint32_t sequence = read32(cursor);
      uint32_t index = static_cast<uint32_t>(cursor - input);
      uint32_t slot = hash4(sequence);
      uint32_t candidate_plus_one = scratch->head[slot];
      scratch->head[slot] = index + 1;
      const uint8_t* match = input + candidate_plus_one - 1;
      if (candidate_plus_one == 0 || index - (candidate_plus_one - 1) > 0xFFFF || read32(match) != sequence) {
        cursor += 1 + (misses++ >> 5);
        continue;
      }
      misses = 0;
      const uint8_t* end = match_end(cursor, match, match_end_limit);
      const uint8_t* start = cursor;
      while (start > anchor && match > input && start[-1] == match[-1]) {
        start--;
        match--;
      }
      out = emit_sequence(out, anchor, static_cast<size_t>(start - anchor), static_cast<size_t>(start - match),
                          static_cast<size_t>(end - start));
      // Index a position near the match's end, where the next match often starts.
      if (end - 2 > cursor && end - 2 < match_limit) scratch->head[hash4(read32(end - 2))] = static_cast<uint32_t>(end - 2 - input) + 1;
      cursor = end;
      anchor = cursor;
    }
  }
  out = emit_last_literals(out, anchor, static_cast<size_t>(input + input_size - anchor));
  return static_cast<size_t>(out - output);
}

}  // namespace

size_t lz4_block_compress(const uint8_t* input, size_t input_size, uint8_t* output, Lz4Scratch* scratch,
                          int max_attempts) {
  if (max_attempts <= 1) return compress_single_probe(input, input_size, output, scratch);
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
          // A candidate that differs at the byte where the best so far ends cannot beat it.
          if (read32(match) == sequence && (best_length == 0 || match[best_length] == cursor[best_length])) {
            const uint8_t* end = match_end(cursor, match, match_end_limit);
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
      const uint8_t* after_match = start + best_length;
      // Index the positions a match covers, but of a long one only its two ends: runs of
      // repeated records would otherwise be hashed byte by byte for matches found anyway.
      const uint8_t* index_end = after_match < match_limit ? after_match : match_limit;
      if (index_end - cursor > 2 * kIndexedMatchEnds) {
        for (const uint8_t* position = cursor + 1; position <= cursor + kIndexedMatchEnds; position++) insert(position);
        for (const uint8_t* position = index_end - kIndexedMatchEnds; position < index_end; position++) insert(position);
      } else {
        for (const uint8_t* position = cursor + 1; position < index_end; position++) insert(position);
      }
      cursor = after_match;
      anchor = cursor;
    }
  }
  out = emit_last_literals(out, anchor, static_cast<size_t>(input + input_size - anchor));
  return static_cast<size_t>(out - output);
}

}  // namespace memview
