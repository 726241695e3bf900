// Where event bytes go: fixed-size buffers filled under the tracker's lock, handed to a writer
// thread that compresses each one into an independent chunk and appends it to the capture file.
// The writer thread also ticks the clock (TIME and RSS records) and flushes a partly filled buffer
// every 250 ms, so a killed process loses at most that much.
#pragma once
#include <atomic>
#include <pthread.h>

#include <cstddef>
#include <cstdint>

namespace memview {

// One chunk's worth of encoded events: the records, and apart from them the addresses and the
// sizes of the new heap blocks (docs/capture-format.md, "Chunk": the address and size sections).
// A record stream's run in an EventBuffer's data: the bytes from the previous run's end up to
// `end`, all of them written while the current thread was in the chunk's thread slot `stream`
// (docs/capture-format.md, "Chunk": record streams).
struct RecordRun {
  uint32_t end;
  uint32_t stream;
};

struct EventBuffer {
  uint8_t* data;  // the records in the order written, without THREAD records naming a slot
  size_t used;
  RecordRun* runs;
  size_t runs_used;
  uint8_t* addresses;
  size_t addresses_used;
  uint8_t* sizes;
  size_t sizes_used;
  uint64_t first_time_ns;
  uint32_t first_event_index;
  uint64_t first_block_ordinal;  // heap blocks numbered before this buffer's first event
  EventBuffer* next;
};

inline constexpr size_t kEventBufferSize = 1 << 20;
inline constexpr size_t kMaxRecordRuns = kEventBufferSize / sizeof(RecordRun);

class ChunkWriter {
 public:
  /** Takes ownership of fd; writes the file header. Returns 0 or an errno value. */
  int open(int fd, uint16_t flags);
  /** The capture's descriptor, or -1 when none is open. */
  int descriptor() const { return fd_.load(std::memory_order_relaxed); }
  /** A buffer ready for events (from the free list, or newly mapped). Never returns null. */
  EventBuffer* take_free_buffer();
  /** Queues a filled buffer for the writer thread. */
  void submit(EventBuffer* buffer);
  /** Compresses and writes every queued buffer; called by the writer thread. */
  void drain();
  /** Writes the trailer and closes the file. */
  void finish(uint64_t total_events, uint64_t end_time_ns);
  /** In a fork child: the parent's capture is not this process's to write; closes its copy. */
  void forget_parent_capture();
  /** errno of the first failed write (ENOSPC when the disk filled), or 0. */
  int failure() const { return failure_; }
  uint64_t bytes_written() const { return file_offset_; }

 private:
  void write_all(const uint8_t* data, size_t size);
  void close_descriptor();
  void write_chunk(const EventBuffer& buffer);

  // Atomic: hooks on other threads ask for it (capture_descriptor in tracker.h).
  std::atomic<int> fd_{-1};
  int failure_ = 0;
  uint64_t file_offset_ = 0;
  pthread_mutex_t queue_mutex_ = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_t drain_mutex_ = PTHREAD_MUTEX_INITIALIZER;
  EventBuffer* free_list_ = nullptr;
  EventBuffer* queue_head_ = nullptr;
  EventBuffer* queue_tail_ = nullptr;
  size_t buffers_mapped_ = 0;
  uint8_t* compressed_ = nullptr;
  uint8_t* raw_payload_ = nullptr;  // the chunk's sections and record streams side by side, for the compressor
  uint8_t* schedule_ = nullptr;     // the chunk's schedule of runs, before its length is known
  struct DeflateScratch* deflate_scratch_ = nullptr;
  int match_attempts_ = 4;
  bool long_matches_ = false;
  // Chunk index for the trailer: file offset, first event time and first block ordinal of every
  // data chunk.
  uint64_t* index_ = nullptr;
  size_t index_count_ = 0;
  size_t index_capacity_ = 0;
};

}  // namespace memview
