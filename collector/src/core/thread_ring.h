// Per-thread event rings: how an allocation event leaves the hooked thread without a global lock.
//
// Every event takes a place in one global order (a sequence number from one atomic counter) and
// is copied into its own thread's single-producer/single-consumer ring. The writer thread merges
// the rings back into sequence order and encodes the capture. The counter is what keeps address
// reuse honest across threads: a free takes its number before the block goes back to the
// allocator, an allocation after the allocator returned it, so whoever gets the block next is
// always later in the capture.
//
// The writer may only emit events below a bound it knows is complete. A producer announces a
// lower bound of the number it is about to take (`pending`) before taking it; the counter's
// increment is a release, so a writer that sees the increment also sees the announcement.
#pragma once
#include <atomic>
#include <cstdint>

namespace memview {

/** One event as the hook saw it; encoding (deltas, varints) happens in the writer thread. */
struct RawEvent {
  uint64_t seq;
  uint64_t address;
  // The operation in the top byte (a capture type byte, or one of the kOp values below), the
  // size in the low 56 bits.
  uint64_t size_and_op;
  uint32_t stack;
  uint32_t tid;

  uint8_t op() const { return static_cast<uint8_t>(size_and_op >> 56); }
  uint64_t size() const { return size_and_op & ((1ull << 56) - 1); }
};

/** Operations that are not capture records themselves. */
inline constexpr uint8_t kOpReallocFree = 0xF1;  // the free half of a realloc; its allocation follows
inline constexpr uint8_t kOpSharedRecord = 0xF2;  // address = a SharedLog record (writer's window only)

inline uint64_t pack_size_and_op(uint64_t size, uint8_t op) {
  return (size & ((1ull << 56) - 1)) | (static_cast<uint64_t>(op) << 56);
}

inline constexpr uint64_t kNothingPending = ~0ull;

struct alignas(64) ThreadRing {
  static constexpr uint32_t kCapacity = 1u << 15;  // 1 MiB of events per thread

  enum Owner : uint32_t { kFree = 0, kActive = 1, kExited = 2 };

  // Producer side.
  alignas(64) std::atomic<uint64_t> pending{kNothingPending};
  std::atomic<uint64_t> head{0};  // events published
  uint64_t last_seq = 0;          // the owner's previous number: a lower bound for the next
  uint32_t tid = 0;
  // Consumer side (the writer thread).
  alignas(64) std::atomic<uint64_t> tail{0};  // events consumed
  std::atomic<uint32_t> owner{kActive};
  ThreadRing* next = nullptr;  // the registry; rings are never unlinked, only reused
  alignas(64) RawEvent entries[kCapacity];
};

}  // namespace memview
