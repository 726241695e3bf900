// LZ4 block compression (the block format of the LZ4 specification), written here because the
// collector may not depend on system packages. Greedy single-probe matcher: it runs on the writer
// thread, off the allocation path, and favours speed over ratio.
#pragma once
#include <cstddef>
#include <cstdint>

namespace memview {

/** Worst-case compressed size of `input_size` bytes (incompressible input grows slightly). */
inline size_t lz4_block_bound(size_t input_size) { return input_size + input_size / 255 + 16; }

/**
 * Compresses `input` into `output` (at least lz4_block_bound(input_size) bytes) and returns the
 * compressed size. `hash_table` is scratch space of 1 << 16 uint32 entries, owned by the caller
 * so the writer thread allocates it once.
 */
size_t lz4_block_compress(const uint8_t* input, size_t input_size, uint8_t* output,
                          uint32_t* hash_table);

}  // namespace memview
