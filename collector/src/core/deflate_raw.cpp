#include "deflate_raw.h"

#include <algorithm>
#include <cstring>

namespace memview {
namespace {

constexpr size_t kMinMatch = 4;  // the hash covers 4 bytes; 3-byte matches rarely pay here
constexpr size_t kMaxMatch = 258;
// A match at least this long is taken without looking one byte further for a longer one. On
// capture chunks, looking past 8 finds 0.1% more for 25% more compression time.
constexpr size_t kLazyEnough = 8;
constexpr int kLiteralLengthSymbols = 286;
constexpr int kDistanceSymbols = 30;
constexpr int kCodeLengthSymbols = 19;
constexpr int kEndOfBlock = 256;
constexpr int kMaxCodeBits = 15;
constexpr int kMaxCodeLengthBits = 7;
constexpr size_t kMaxStoredBlock = 65535;

// The order in which a dynamic block lists the code-length code's lengths (RFC 1951, 3.2.7).
constexpr uint8_t kCodeLengthOrder[kCodeLengthSymbols] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};

inline uint32_t read32(const uint8_t* p) {
  uint32_t value;
  memcpy(&value, p, 4);
  return value;
}

inline uint64_t read64(const uint8_t* p) {
  uint64_t value;
  memcpy(&value, p, 8);
  return value;
}

inline uint32_t hash4(uint32_t sequence) { return (sequence * 2654435761u) >> (32 - DeflateScratch::kHashBits); }
inline uint32_t hash8(uint64_t sequence) { return static_cast<uint32_t>((sequence * 0x9E3779B97F4A7C15ull) >> (64 - DeflateScratch::kHashBits)); }

// Makes `position` (at `index`) the newest entry of its hash's chain.
inline void link(uint32_t* head, uint16_t* chain, uint32_t slot, uint32_t index) {
  uint32_t previous_plus_one = head[slot];
  uint32_t distance = previous_plus_one ? index - (previous_plus_one - 1) : 0;
  chain[index & (DeflateScratch::kWindow - 1)] = distance > 0xFFFF ? 0 : static_cast<uint16_t>(distance);
  head[slot] = index + 1;
}

// Length symbol (minus 257) and extra bits of a match length 3..258, from RFC 1951's table.
struct LengthCode {
  uint8_t symbol_offset;
  uint8_t extra_bits;
  uint16_t base;
};

struct LengthCodes {
  LengthCode by_length[kMaxMatch + 1];
  LengthCodes() {
    for (size_t length = 3; length <= kMaxMatch; length++) {
      uint32_t x = static_cast<uint32_t>(length - 3);
      LengthCode code;
      if (length == kMaxMatch) {
        code = {28, 0, 258};
      } else if (x < 8) {
        code = {static_cast<uint8_t>(x), 0, static_cast<uint16_t>(length)};
      } else {
        int top = 31 - __builtin_clz(x);
        int extra = top - 2;
        code.symbol_offset = static_cast<uint8_t>(4 * (top - 1) + ((x >> extra) & 3));
        code.extra_bits = static_cast<uint8_t>(extra);
        code.base = static_cast<uint16_t>(3 + (x & ~((1u << extra) - 1)));
      }
      by_length[length] = code;
    }
  }
};

const LengthCodes kLengthCodes;

// Distance symbol of a distance 1..32768; its extra bits are distance_extra_bits(symbol).
inline int distance_symbol(uint32_t distance) {
  uint32_t x = distance - 1;
  if (x < 2) return static_cast<int>(x);
  int top = 31 - __builtin_clz(x);
  return 2 * top + static_cast<int>((x >> (top - 1)) & 1);
}
inline int distance_extra_bits(int symbol) { return symbol < 4 ? 0 : (symbol >> 1) - 1; }
inline uint32_t distance_base(int symbol) {
  if (symbol < 4) return static_cast<uint32_t>(symbol) + 1;
  int extra = distance_extra_bits(symbol);
  return (static_cast<uint32_t>(2 + (symbol & 1)) << extra) + 1;
}

// Bits go out least significant first; Huffman codes are reversed before they are written
// because DEFLATE packs them starting from their most significant bit.
struct BitWriter {
  uint8_t* out;
  uint64_t bits = 0;
  int count = 0;

  inline void put(uint32_t value, int width) {
    bits |= static_cast<uint64_t>(value) << count;
    count += width;
    if (count >= 32) {
      uint32_t word = static_cast<uint32_t>(bits);
      memcpy(out, &word, 4);
      out += 4;
      bits >>= 32;
      count -= 32;
    }
  }
  // Pads to a byte boundary and writes out what is pending.
  inline void align() {
    while (count > 0) {
      *out++ = static_cast<uint8_t>(bits);
      bits >>= 8;
      count = count > 8 ? count - 8 : 0;
    }
    bits = 0;
  }
};

/**
 * Code lengths of at most `max_bits` for `count` symbols with frequencies `frequency` (0 = unused,
 * length 0). A Huffman code from two queues over the sorted leaves; when it runs deeper than
 * `max_bits`, the frequencies are flattened and the code built again (rare: it needs a symbol
 * thousands of times rarer than another in one block).
 */
void build_code_lengths(const uint32_t* frequency, int count, int max_bits, uint8_t* lengths) {
  int symbols[kLiteralLengthSymbols];
  uint32_t weight[2 * kLiteralLengthSymbols];
  int parent[2 * kLiteralLengthSymbols];
  uint8_t depth[2 * kLiteralLengthSymbols];
  memset(lengths, 0, static_cast<size_t>(count));
  int used = 0;
  for (int symbol = 0; symbol < count; symbol++) {
    if (frequency[symbol] != 0) symbols[used++] = symbol;
  }
  if (used == 0) return;
  if (used == 1) {
    // A code of one symbol is incomplete, which some inflaters refuse: pair it with another.
    lengths[symbols[0]] = 1;
    lengths[symbols[0] == 0 ? 1 : 0] = 1;
    return;
  }
  for (int shift = 0;; shift++) {
    std::sort(symbols, symbols + used, [&](int a, int b) {
      uint32_t wa = std::max<uint32_t>(1, frequency[a] >> shift), wb = std::max<uint32_t>(1, frequency[b] >> shift);
      return wa != wb ? wa < wb : a < b;
    });
    for (int i = 0; i < used; i++) weight[i] = std::max<uint32_t>(1, frequency[symbols[i]] >> shift);
    // Leaves 0..used-1 in order of weight; internal nodes used.. in order of creation, which is
    // also order of weight: each step joins the two lightest of both queues.
    int leaf = 0, internal = used, next = used;
    auto lightest = [&]() {
      if (leaf < used && (internal >= next || weight[leaf] <= weight[internal])) return leaf++;
      return internal++;
    };
    while (next < 2 * used - 1) {
      int a = lightest();
      int b = lightest();
      weight[next] = weight[a] + weight[b];
      parent[a] = parent[b] = next;
      next++;
    }
    int root = 2 * used - 2;
    depth[root] = 0;
    int deepest = 0;
    for (int node = root - 1; node >= 0; node--) {
      depth[node] = static_cast<uint8_t>(depth[parent[node]] + 1);
      if (node < used) deepest = std::max<int>(deepest, depth[node]);
    }
    if (deepest <= max_bits) {
      for (int i = 0; i < used; i++) lengths[symbols[i]] = depth[i];
      return;
    }
  }
}

/** Canonical codes (RFC 1951, 3.2.2) for `lengths`, bit-reversed for the LSB-first stream. */
void build_codes(const uint8_t* lengths, int count, uint16_t* codes) {
  uint16_t length_count[kMaxCodeBits + 1] = {};
  for (int symbol = 0; symbol < count; symbol++) length_count[lengths[symbol]]++;
  length_count[0] = 0;
  uint16_t next_code[kMaxCodeBits + 2] = {};
  uint32_t code = 0;
  for (int bits = 1; bits <= kMaxCodeBits; bits++) {
    code = (code + length_count[bits - 1]) << 1;
    next_code[bits] = static_cast<uint16_t>(code);
  }
  for (int symbol = 0; symbol < count; symbol++) {
    int length = lengths[symbol];
    if (length == 0) continue;
    uint32_t value = next_code[length]++;
    uint32_t reversed = 0;
    for (int bit = 0; bit < length; bit++) reversed |= ((value >> bit) & 1u) << (length - 1 - bit);
    codes[symbol] = static_cast<uint16_t>(reversed);
  }
}

// The code lengths of both codes, run-length coded with symbols 16 (repeat the previous length
// 3–6 times), 17 (3–10 zeros) and 18 (11–138 zeros); returns the number of entries.
int run_length_code(const uint8_t* lengths, int count, uint8_t* symbols, uint8_t* extras) {
  int entries = 0;
  for (int i = 0; i < count;) {
    uint8_t length = lengths[i];
    int run = 1;
    while (i + run < count && lengths[i + run] == length) run++;
    int left = run;
    if (length == 0) {
      while (left >= 11) {
        int take = std::min(left, 138);
        symbols[entries] = 18;
        extras[entries++] = static_cast<uint8_t>(take - 11);
        left -= take;
      }
      if (left >= 3) {
        symbols[entries] = 17;
        extras[entries++] = static_cast<uint8_t>(left - 3);
        left = 0;
      }
    } else {
      symbols[entries] = length;
      extras[entries++] = 0;
      left--;
      while (left >= 3) {
        int take = std::min(left, 6);
        symbols[entries] = 16;
        extras[entries++] = static_cast<uint8_t>(take - 3);
        left -= take;
      }
    }
    while (left-- > 0) {
      symbols[entries] = length;
      extras[entries++] = 0;
    }
    i += run;
  }
  return entries;
}

// Writes `input[0, size)` as stored blocks; `final` marks the last one.
void write_stored(BitWriter& writer, const uint8_t* input, size_t size, bool final) {
  do {
    size_t piece = std::min(size, kMaxStoredBlock);
    bool last = final && piece == size;
    writer.put(last ? 1 : 0, 3);
    writer.align();
    uint16_t length = static_cast<uint16_t>(piece);
    uint16_t complement = static_cast<uint16_t>(~length);
    memcpy(writer.out, &length, 2);
    memcpy(writer.out + 2, &complement, 2);
    memcpy(writer.out + 4, input, piece);
    writer.out += 4 + piece;
    input += piece;
    size -= piece;
  } while (size > 0);
}

/**
 * Writes the block of `symbol_count` symbols that covers `input[0, size)`: with its own dynamic
 * Huffman codes, or stored when that takes fewer bits.
 */
void write_block(BitWriter& writer, const DeflateScratch& block, size_t symbol_count, const uint8_t* input,
                 size_t size, bool final) {
  uint32_t literal_frequency[kLiteralLengthSymbols] = {};
  uint32_t distance_frequency[kDistanceSymbols] = {};
  uint64_t extra_bits = 0;
  for (size_t i = 0; i < symbol_count; i++) {
    uint32_t distance = block.distances[i];
    if (distance == 0) {
      literal_frequency[block.lengths[i]]++;
      continue;
    }
    const LengthCode& length_code = kLengthCodes.by_length[block.lengths[i]];
    literal_frequency[257 + length_code.symbol_offset]++;
    int symbol = distance_symbol(distance);
    distance_frequency[symbol]++;
    extra_bits += length_code.extra_bits + static_cast<uint32_t>(distance_extra_bits(symbol));
  }
  literal_frequency[kEndOfBlock] = 1;
  // A block without matches still declares a distance code, as zlib does: some inflaters refuse
  // an empty one.
  if (std::all_of(distance_frequency, distance_frequency + kDistanceSymbols, [](uint32_t f) { return f == 0; })) {
    distance_frequency[0] = 1;
  }
  uint8_t literal_lengths[kLiteralLengthSymbols];
  uint8_t distance_lengths[kDistanceSymbols];
  build_code_lengths(literal_frequency, kLiteralLengthSymbols, kMaxCodeBits, literal_lengths);
  build_code_lengths(distance_frequency, kDistanceSymbols, kMaxCodeBits, distance_lengths);
  int literal_count = kLiteralLengthSymbols;
  while (literal_count > 257 && literal_lengths[literal_count - 1] == 0) literal_count--;
  int distance_count = kDistanceSymbols;
  while (distance_count > 1 && distance_lengths[distance_count - 1] == 0) distance_count--;
  // Both codes' lengths form one sequence, run-length coded across the boundary.
  uint8_t lengths[kLiteralLengthSymbols + kDistanceSymbols];
  memcpy(lengths, literal_lengths, static_cast<size_t>(literal_count));
  memcpy(lengths + literal_count, distance_lengths, static_cast<size_t>(distance_count));
  uint8_t run_symbols[kLiteralLengthSymbols + kDistanceSymbols];
  uint8_t run_extras[kLiteralLengthSymbols + kDistanceSymbols];
  int runs = run_length_code(lengths, literal_count + distance_count, run_symbols, run_extras);
  uint32_t run_frequency[kCodeLengthSymbols] = {};
  for (int i = 0; i < runs; i++) run_frequency[run_symbols[i]]++;
  uint8_t run_lengths[kCodeLengthSymbols];
  build_code_lengths(run_frequency, kCodeLengthSymbols, kMaxCodeLengthBits, run_lengths);
  int header_count = kCodeLengthSymbols;
  while (header_count > 4 && run_lengths[kCodeLengthOrder[header_count - 1]] == 0) header_count--;

  uint64_t bits = 3 + 5 + 5 + 4 + 3 * static_cast<uint64_t>(header_count) + extra_bits;
  for (int i = 0; i < runs; i++) {
    uint8_t symbol = run_symbols[i];
    bits += run_lengths[symbol] + (symbol == 16 ? 2 : symbol == 17 ? 3 : symbol == 18 ? 7 : 0);
  }
  for (int symbol = 0; symbol < kLiteralLengthSymbols; symbol++) bits += uint64_t{literal_frequency[symbol]} * literal_lengths[symbol];
  for (int symbol = 0; symbol < kDistanceSymbols; symbol++) bits += uint64_t{distance_frequency[symbol]} * distance_lengths[symbol];
  uint64_t stored_bits = (size + 5 * (size / kMaxStoredBlock + 1)) * 8 + 7;
  if (stored_bits <= bits) {
    write_stored(writer, input, size, final);
    return;
  }

  uint16_t literal_codes[kLiteralLengthSymbols];
  uint16_t distance_codes[kDistanceSymbols];
  uint16_t run_codes[kCodeLengthSymbols];
  build_codes(literal_lengths, kLiteralLengthSymbols, literal_codes);
  build_codes(distance_lengths, kDistanceSymbols, distance_codes);
  build_codes(run_lengths, kCodeLengthSymbols, run_codes);
  writer.put(final ? 1 : 0, 1);
  writer.put(2, 2);  // dynamic Huffman codes
  writer.put(static_cast<uint32_t>(literal_count - 257), 5);
  writer.put(static_cast<uint32_t>(distance_count - 1), 5);
  writer.put(static_cast<uint32_t>(header_count - 4), 4);
  for (int i = 0; i < header_count; i++) writer.put(run_lengths[kCodeLengthOrder[i]], 3);
  for (int i = 0; i < runs; i++) {
    uint8_t symbol = run_symbols[i];
    writer.put(run_codes[symbol], run_lengths[symbol]);
    if (symbol == 16) writer.put(run_extras[i], 2);
    else if (symbol == 17) writer.put(run_extras[i], 3);
    else if (symbol == 18) writer.put(run_extras[i], 7);
  }
  for (size_t i = 0; i < symbol_count; i++) {
    uint32_t distance = block.distances[i];
    uint32_t value = block.lengths[i];
    if (distance == 0) {
      writer.put(literal_codes[value], literal_lengths[value]);
      continue;
    }
    const LengthCode& length_code = kLengthCodes.by_length[value];
    int length_symbol = 257 + length_code.symbol_offset;
    writer.put(literal_codes[length_symbol], literal_lengths[length_symbol]);
    if (length_code.extra_bits) writer.put(value - length_code.base, length_code.extra_bits);
    int symbol = distance_symbol(distance);
    writer.put(distance_codes[symbol], distance_lengths[symbol]);
    int extra = distance_extra_bits(symbol);
    if (extra) writer.put(distance - distance_base(symbol), extra);
  }
  writer.put(literal_codes[kEndOfBlock], literal_lengths[kEndOfBlock]);
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

}  // namespace

size_t deflate_raw_compress(const uint8_t* input, size_t input_size, const size_t* block_breaks, size_t break_count,
                            uint8_t* output, DeflateScratch* scratch, int max_attempts, bool long_matches) {
  BitWriter writer{output};
  if (input_size == 0) {
    write_stored(writer, input, 0, true);
    return static_cast<size_t>(writer.out - output);
  }
  memset(scratch->head, 0, sizeof(scratch->head));
  if (long_matches) memset(scratch->long_head, 0, sizeof(scratch->long_head));
  const uint8_t* const end_of_input = input + input_size;
  // Matches are looked for while 4 bytes can be hashed; the bytes after are literals.
  const uint8_t* const match_limit = input_size > kMinMatch ? end_of_input - kMinMatch : input;
  auto insert = [&](const uint8_t* position) {
    uint32_t index = static_cast<uint32_t>(position - input);
    link(scratch->head, scratch->chain, hash4(read32(position)), index);
    if (long_matches && position + 8 <= end_of_input) link(scratch->long_head, scratch->long_chain, hash8(read64(position)), index);
  };
  // The longest match for `cursor` that beats `best_length`, among the first `attempts` candidates
  // of a chain that starts at `candidate_plus_one`.
  auto walk = [&](const uint8_t* cursor, uint32_t candidate_plus_one, const uint16_t* chain, int attempts, size_t best_length,
                  uint32_t* best_distance) -> size_t {
    if (candidate_plus_one == 0) return best_length;
    const uint32_t sequence = read32(cursor);
    const uint32_t index = static_cast<uint32_t>(cursor - input);
    const uint8_t* limit = end_of_input - cursor > static_cast<long>(kMaxMatch) ? cursor + kMaxMatch : end_of_input;
    if (cursor + best_length >= limit) return best_length;
    uint32_t candidate = candidate_plus_one - 1;
    for (int attempt = 0; attempt < attempts; attempt++) {
      if (index - candidate > DeflateScratch::kWindow) break;
      const uint8_t* match = input + candidate;
      // A candidate that differs at the byte where the best so far ends cannot beat it.
      if (read32(match) == sequence && (best_length == 0 || (cursor + best_length < limit && match[best_length] == cursor[best_length]))) {
        size_t length = static_cast<size_t>(match_end(cursor, match, limit) - cursor);
        if (length > best_length) {
          best_length = length;
          *best_distance = index - candidate;
          if (cursor + length >= limit) break;
        }
      }
      uint16_t step = chain[candidate & (DeflateScratch::kWindow - 1)];
      if (step == 0 || step > candidate) break;
      candidate -= step;
    }
    return best_length;
  };
  // The longest match for `cursor`: the 8-byte chain first with long_matches, then the 4-byte one.
  constexpr int kShortAttemptsAfterLong = 8;
  constexpr size_t kLongEnough = 16;  // a match this long from the 8-byte chain ends the search
  auto find = [&](const uint8_t* cursor, uint32_t* best_distance) -> size_t {
    size_t best_length = 0;
    int short_attempts = max_attempts;
    if (long_matches) {
      if (cursor + 8 <= end_of_input) {
        best_length = walk(cursor, scratch->long_head[hash8(read64(cursor))], scratch->long_chain, max_attempts, 0, best_distance);
      }
      if (best_length >= kLongEnough) return best_length;
      short_attempts = kShortAttemptsAfterLong;
    }
    return walk(cursor, scratch->head[hash4(read32(cursor))], scratch->chain, short_attempts, best_length, best_distance);
  };

  size_t symbols = 0;
  const uint8_t* block_start = input;
  // The next block break still ahead (a break at or before the current block's start is passed).
  const size_t* const breaks_end = block_breaks + break_count;
  const uint8_t* break_at = end_of_input;
  auto next_break = [&]() {
    while (block_breaks < breaks_end && input + *block_breaks <= block_start) block_breaks++;
    break_at = block_breaks < breaks_end ? input + std::min(*block_breaks, input_size) : end_of_input;
  };
  next_break();
  auto end_block = [&](const uint8_t* block_end, bool final) {
    write_block(writer, *scratch, symbols, block_start, static_cast<size_t>(block_end - block_start), final);
    symbols = 0;
    block_start = block_end;
    next_break();
  };
  auto literal = [&](const uint8_t* at) {
    scratch->lengths[symbols] = *at;
    scratch->distances[symbols++] = 0;
  };

  const uint8_t* cursor = input;
  // Like LZ4's fast mode, step further the longer no match turns up: incompressible stretches
  // would otherwise cost a chain walk per byte (the skipped bytes are still written, as literals).
  uint32_t misses = 0;
  size_t pending_length = 0;  // a match already found for `cursor` by the lazy look-ahead
  uint32_t pending_distance = 0;
  while (cursor < end_of_input) {
    if (symbols + 2 > DeflateScratch::kBlockSymbols || cursor >= break_at) {
      end_block(cursor, false);
    }
    if (cursor >= match_limit) {
      literal(cursor++);
      continue;
    }
    uint32_t distance = pending_distance;
    size_t length = pending_length;
    if (length == 0) length = find(cursor, &distance);
    pending_length = 0;
    insert(cursor);
    if (length < kMinMatch) {
      size_t skip = std::min<size_t>(1 + (misses++ >> 5), DeflateScratch::kBlockSymbols - symbols - 1);
      for (size_t i = 0; i < skip && cursor < end_of_input; i++) literal(cursor++);
      continue;
    }
    misses = 0;
    // One step of lazy evaluation: a longer match one byte on is worth a literal.
    if (length < kLazyEnough && cursor + 1 < match_limit) {
      uint32_t next_distance = 0;
      size_t next_length = find(cursor + 1, &next_distance);
      if (next_length > length) {
        literal(cursor++);
        pending_length = next_length;
        pending_distance = next_distance;
        continue;
      }
    }
    scratch->lengths[symbols] = static_cast<uint16_t>(length);
    scratch->distances[symbols++] = static_cast<uint16_t>(distance);
    // Index the positions a match covers, but of a long one only its two ends: runs of repeated
    // records would otherwise be hashed byte by byte for matches found anyway.
    const uint8_t* after_match = cursor + length;
    const uint8_t* index_end = after_match < match_limit ? after_match : match_limit;
    if (index_end - cursor > 16) {
      for (const uint8_t* position = cursor + 1; position <= cursor + 8; position++) insert(position);
      for (const uint8_t* position = index_end - 8; position < index_end; position++) insert(position);
    } else {
      for (const uint8_t* position = cursor + 1; position < index_end; position++) insert(position);
    }
    cursor = after_match;
  }
  end_block(end_of_input, true);
  writer.align();
  return static_cast<size_t>(writer.out - output);
}

}  // namespace memview
