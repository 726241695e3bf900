// The capture format's constants as the TypeScript reference reader sees them.
// docs/capture-format.md is the contract; collector/src/core/record_format.h (writer) and
// wasm/assembly/format.ts (decoder) hold the same table.

export const CAPTURE_MAGIC = 'MEMVIEW\0';
export const HEADER_SIZE_BYTES = 16;
/** The version the collector writes; the reader also reads FIRST_READABLE_FORMAT_VERSION and on. */
export const CURRENT_FORMAT_VERSION = 6;
/** Version 5 differs only in how a new block's address names a freed block (no rank form). */
export const FIRST_READABLE_FORMAT_VERSION = 5;
/** A new block's address may name a freed block among the blocks created this many before it. */
export const REUSE_WINDOW = 2 ** 22;
/** ... or, since version 6, its rank among the freed blocks of its size class, below this limit. */
export const FREED_RANK_LIMIT = 8;
/** A block is in its size class's list of freed blocks while it is among this many latest blocks. */
export const FREED_LIST_WINDOW = 2 ** 20;
/** Size classes with a reuse base each: `(size + 8) >> 4` below 64 KiB, one class above. */
export const SIZE_CLASS_COUNT = 4098;
export function sizeClass(sizeBytes: number): number {
  return sizeBytes < 65536 ? (sizeBytes + 8) >>> 4 : SIZE_CLASS_COUNT - 1;
}
/**
 * Where the allocator chunk of a block of `sizeBytes` ends, from the block's address (glibc's
 * malloc on 64 bits): a new block written as "after block k" starts there.
 */
export function chunkFootprint(sizeBytes: number): number {
  return sizeBytes + 23 < 32 ? 32 : Math.floor((sizeBytes + 23) / 16) * 16;
}
export const FLAG_NATIVE_FRAMES = 1 << 0;
export const FLAG_FOLLOWED_CHILD = 1 << 1;

export const CHUNK_MAGIC = 'MVCK';
export const CHUNK_HEADER_SIZE_BYTES = 24;
export const MAX_CHUNK_RAW_SIZE_BYTES = 16 << 20;

export const ChunkKind = { Data: 1, Trailer: 2 } as const;
export const ChunkCodec = { Stored: 0, Lz4Block: 1, Deflate: 2 } as const;
export const CHUNK_CODEC_NAMES = ['stored', 'LZ4', 'DEFLATE'];
/** The largest stored size a compressed payload of `rawSize` bytes can have, per codec. */
export function largestStoredSize(codec: number, rawSize: number): number {
  // LZ4's compressBound; for DEFLATE, stored blocks of 16 KiB or more (5 bytes each) and slack.
  return codec === ChunkCodec.Lz4Block ? rawSize + Math.floor(rawSize / 255) + 16 : rawSize + Math.floor(rawSize / 2048) + 64;
}

export const RecordCode = {
  Alloc: 1,
  Free: 2,
  Realloc: 3,
  Map: 4,
  Unmap: 5,
  Thread: 6,
  Time: 7,
  Rss: 8,
  Stack: 9,
  StackReset: 10,
  Code: 11,
  String: 12,
  Module: 13,
  Symbol: 14,
  Meta: 15,
} as const;

/** Allocator kinds (argument of ALLOC; REALLOC is kind 3; MAP counts as kind 11), by stats key. */
export const ALLOCATOR_NAMES: Readonly<Record<number, string>> = {
  1: 'malloc',
  2: 'calloc',
  3: 'realloc',
  4: 'posix_memalign',
  5: 'aligned_alloc',
  6: 'memalign',
  7: 'valloc',
  8: 'pvalloc',
  9: 'new',
  10: 'new[]',
  11: 'mmap',
};
export const REALLOC_KIND = 3;
export const MMAP_KIND = 11;
export const MAX_HEAP_ALLOCATOR_KIND = 10;
export const MAX_DEALLOCATOR_KIND = 3;
/** Added to a FREE's deallocator kind when the block was never seen allocated (its address follows). */
export const UNKNOWN_BLOCK = 8;
/** THREAD records name a chunk's first 15 threads by slot after their first record. */
export const THREAD_SLOTS = 15;

export const CodeSubtype = { Add: 0, Move: 1 } as const;
export const MetaSubtype = { KeyValue: 0, ThreadName: 1 } as const;
