// The capture format's record codes and kinds, in one place for the C++ writer.
// docs/capture-format.md is the contract; wasm/assembly/format.ts holds the same table for the
// reader, and test/format-table.test.ts checks that the two agree with the document.
#pragma once
#include <cstdint>

namespace memview::format {

inline constexpr char kMagic[8] = {'M', 'E', 'M', 'V', 'I', 'E', 'W', 0};
inline constexpr uint16_t kVersion = 6;
inline constexpr uint16_t kFlagNativeFrames = 1 << 0;
inline constexpr uint16_t kFlagFollowedChild = 1 << 1;
inline constexpr char kChunkMagic[4] = {'M', 'V', 'C', 'K'};
inline constexpr uint32_t kChunkHeaderSize = 24;
inline constexpr uint32_t kMaxChunkRawSize = 16u << 20;

enum ChunkKind : uint8_t { kChunkData = 1, kChunkTrailer = 2 };
enum ChunkCodec : uint8_t { kCodecStored = 0, kCodecLz4Block = 1, kCodecDeflate = 2 };

enum Record : uint8_t {
  kAlloc = 1,
  kFree = 2,
  kRealloc = 3,
  kMap = 4,
  kUnmap = 5,
  kThread = 6,
  kTime = 7,
  kRss = 8,
  kStack = 9,
  kStackReset = 10,
  kCode = 11,
  kString = 12,
  kModule = 13,
  kSymbol = 14,
  kMeta = 15,
};

enum AllocatorKind : uint8_t {
  kMalloc = 1,
  kCalloc = 2,
  kReallocKind = 3,
  kPosixMemalign = 4,
  kAlignedAlloc = 5,
  kMemalign = 6,
  kValloc = 7,
  kPvalloc = 8,
  kNew = 9,
  kNewArray = 10,
  kMmap = 11,
};

enum DeallocatorKind : uint8_t { kFreeKind = 1, kDelete = 2, kDeleteArray = 3 };
// Added to a deallocator kind: the freed block was never seen allocated (its address follows).
inline constexpr uint8_t kUnknownBlock = 8;

// A new block's address may name the freed block that held it before, among the blocks created
// at most this many before the new one ("Addresses of new blocks").
inline constexpr uint64_t kReuseWindow = uint64_t{1} << 22;
// ... or its rank among the freed blocks of its size class, newest first, when below this limit;
// a block is in its class's list while it is among the last kFreedListWindow blocks created.
inline constexpr uint32_t kFreedRankLimit = 8;
inline constexpr uint64_t kFreedListWindow = uint64_t{1} << 20;
// A chunk's thread table: THREAD records name its threads 1..15 by slot after the first time.
inline constexpr uint32_t kThreadSlots = 15;
// The size classes that keep one reuse base each: 16-byte steps up to 64 KiB, then one class.
inline constexpr uint32_t kSizeClassCount = 4098;
inline constexpr uint32_t size_class(uint64_t size) {
  return size < 65536 ? static_cast<uint32_t>((size + 8) >> 4) : kSizeClassCount - 1;
}

// Where the allocator chunk of a block of `size` bytes ends, counted from the block's address:
// glibc's malloc on 64 bits (8 bytes of header, 16-byte steps, 32 at least). A new block that
// starts there names the block before it ("Addresses of new blocks"); with another allocator the
// rule never matches and addresses are written out.
inline constexpr uint64_t chunk_footprint(uint64_t size) {
  return size + 23 < 32 ? 32 : (size + 23) & ~uint64_t{15};
}

enum MapCause : uint8_t { kCauseMmap = 1, kCauseMprotect = 2, kCauseMremap = 3, kCauseMmapOver = 4 };
inline constexpr uint8_t kCauseMunmap = 1;

enum CodeSubtype : uint8_t { kCodeAdd = 0, kCodeMove = 1 };
enum MetaSubtype : uint8_t { kMetaKeyValue = 0, kMetaThreadName = 1 };

inline constexpr uint8_t type_byte(Record record, uint8_t argument) {
  return static_cast<uint8_t>(record | (argument << 4));
}

}  // namespace memview::format
