// Record codes, kinds and header constants of capture format version 2 (docs/capture-format.md).
// The C++ writer keeps the same table in collector/src/core/record_format.h;
// test/format-table.test.ts checks that both agree with the document.

export const FORMAT_VERSION: u32 = 6;
export const HEADER_SIZE: u32 = 16;
export const CHUNK_HEADER_SIZE: u32 = 24;
/** Largest raw (decompressed) chunk payload the format allows. */
export const MAX_CHUNK_RAW_SIZE: u32 = 16 << 20;

export const CHUNK_KIND_DATA: u32 = 1;
export const CHUNK_KIND_TRAILER: u32 = 2;
export const CODEC_STORED: u32 = 0;
export const CODEC_LZ4_BLOCK: u32 = 1;
export const CODEC_DEFLATE: u32 = 2;

export const RECORD_ALLOC: u32 = 1;
export const RECORD_FREE: u32 = 2;
export const RECORD_REALLOC: u32 = 3;
export const RECORD_MAP: u32 = 4;
export const RECORD_UNMAP: u32 = 5;
export const RECORD_THREAD: u32 = 6;
export const RECORD_TIME: u32 = 7;
export const RECORD_RSS: u32 = 8;
export const RECORD_STACK: u32 = 9;
export const RECORD_STACK_RESET: u32 = 10;
export const RECORD_CODE: u32 = 11;
export const RECORD_STRING: u32 = 12;
export const RECORD_MODULE: u32 = 13;
export const RECORD_SYMBOL: u32 = 14;
export const RECORD_META: u32 = 15;

export const ALLOCATOR_MALLOC: u32 = 1;
export const ALLOCATOR_CALLOC: u32 = 2;
export const ALLOCATOR_REALLOC: u32 = 3;
export const ALLOCATOR_POSIX_MEMALIGN: u32 = 4;
export const ALLOCATOR_ALIGNED_ALLOC: u32 = 5;
export const ALLOCATOR_MEMALIGN: u32 = 6;
export const ALLOCATOR_VALLOC: u32 = 7;
export const ALLOCATOR_PVALLOC: u32 = 8;
export const ALLOCATOR_OPERATOR_NEW: u32 = 9;
export const ALLOCATOR_OPERATOR_NEW_ARRAY: u32 = 10;
export const ALLOCATOR_MMAP: u32 = 11;

export const DEALLOCATOR_FREE: u32 = 1;
export const DEALLOCATOR_OPERATOR_DELETE: u32 = 2;
export const DEALLOCATOR_OPERATOR_DELETE_ARRAY: u32 = 3;
/** Added to a FREE's deallocator kind when the freed block is unknown (an address follows). */
export const UNKNOWN_BLOCK: u32 = 8;
/** THREAD records name a chunk's first 15 threads by slot after their first record. */
export const THREAD_SLOTS: u32 = 15;

export const MAP_CAUSE_MMAP: u32 = 1;
export const MAP_CAUSE_MPROTECT: u32 = 2;
export const MAP_CAUSE_MREMAP: u32 = 3;
export const UNMAP_CAUSE_MUNMAP: u32 = 1;
export const UNMAP_CAUSE_MPROTECT: u32 = 2;
export const UNMAP_CAUSE_MREMAP: u32 = 3;
export const UNMAP_CAUSE_MMAP_OVER: u32 = 4;

export const CODE_ADD: u32 = 0;
export const CODE_MOVE: u32 = 1;
export const CODE_TYPE_BYTECODE: u32 = 0;
export const CODE_TYPE_JIT: u32 = 1;
export const CODE_TYPE_WASM: u32 = 2;

export const META_KEY_VALUE: u32 = 0;
export const META_THREAD_NAME: u32 = 1;

export const HEADER_FLAG_NATIVE_FRAMES: u32 = 1;
export const HEADER_FLAG_FOLLOWED_CHILD: u32 = 2;
