// Raw DEFLATE compression (RFC 1951: no zlib or gzip wrapper), written here because the collector
// may not depend on system packages. Capture chunks are structured records interleaved with
// near-random numbers (sizes, addresses): LZ4 keeps every literal byte as it is, while DEFLATE's
// Huffman codes spend on each byte what its frequency warrants, which is what closes most of the
// distance to zstd-compressed captures (docs/capture-format.md, "Chunk"). Every browser and Node
// can inflate it natively, which makes any other reader of the format cheap to write.
//
// The matcher is LZ4's hash chain with one step of lazy evaluation; every block gets its own
// dynamic Huffman codes, or is stored when that is smaller.
#pragma once
#include <cstddef>
#include <cstdint>

namespace memview {

/** Worst-case compressed size of `input_size` bytes: stored blocks cost 5 bytes per 64 KiB. */
inline size_t deflate_raw_bound(size_t input_size) { return input_size + input_size / 4096 + 64; }

/** Scratch space of the compressor, allocated once by its owner (about 650 KiB). */
struct DeflateScratch {
  static constexpr int kHashBits = 15;
  static constexpr size_t kWindow = 1 << 15;  // DEFLATE's largest match distance
  static constexpr size_t kBlockSymbols = 1 << 15;
  uint32_t head[1 << kHashBits];  // last position + 1 with each hash of 4 bytes, 0 = none
  uint16_t chain[kWindow];        // distance to the previous position with the same hash
  uint32_t long_head[1 << kHashBits];  // the same for hashes of 8 bytes
  uint16_t long_chain[kWindow];
  // The current block: a literal byte (distance 0), or a match of `length` bytes at `distance`.
  uint16_t lengths[kBlockSymbols];
  uint16_t distances[kBlockSymbols];
};

/**
 * Compresses `input` into `output` (at least deflate_raw_bound(input_size) bytes) as one raw
 * DEFLATE stream and returns its size. A block ends at each of the `break_count` ascending
 * offsets in `block_breaks` (the ends of a chunk's sections), so that the near-random addresses,
 * the sizes and the records get Huffman codes of their own. `max_attempts` is how many earlier
 * positions with the same hash are tried per position.
 *
 * With `long_matches`, positions are also indexed by their first 8 bytes, and that chain is tried
 * first (max_attempts candidates; then 8 of the 4-byte chain, for shorter matches). In a very
 * repetitive stream (an allocation storm's records) the nearest positions that share 4 bytes are
 * mostly short repeats, and the long matches lie dozens of candidates down that chain. It costs a
 * second index entry per position, which does not pay on less repetitive input.
 */
size_t deflate_raw_compress(const uint8_t* input, size_t input_size, const size_t* block_breaks, size_t break_count,
                            uint8_t* output, DeflateScratch* scratch, int max_attempts = 4, bool long_matches = false);

}  // namespace memview
