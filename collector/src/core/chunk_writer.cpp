#include "chunk_writer.h"

#include <sys/syscall.h>

#include <errno.h>
#include <sched.h>
#include <unistd.h>

#include <cstring>

#include "byte_sink.h"
#include "deflate_raw.h"
#include "raw_memory.h"
#include "record_format.h"

namespace memview {
namespace {

// Past this many buffers in flight (the disk or the compressor cannot keep up), producers wait.
constexpr size_t kMaxBuffers = 256;
// Trailer index entries per data chunk: file offset, first event time, first block ordinal.
constexpr size_t kIndexFields = 3;

uint32_t fnv1a(const uint8_t* data, size_t size) {
  uint32_t hash = 0x811c9dc5u;
  for (size_t i = 0; i < size; i++) hash = (hash ^ data[i]) * 0x01000193u;
  return hash;
}

void put32(uint8_t* out, uint32_t value) { memcpy(out, &value, 4); }

// The largest raw payload: each section's length and bytes, and the records.
constexpr size_t kMaxScheduleBytes = kMaxRecordRuns * 6;  // a stream (1 byte) and a length (at most 5) per run
constexpr size_t kMaxRawPayload = 30 + 3 * kEventBufferSize + kMaxScheduleBytes;

}  // namespace

int ChunkWriter::open(int fd, uint16_t flags) {
  fd_.store(fd, std::memory_order_relaxed);
  // A writer is reused for the next capture of a process (Tracker API): offsets, the chunk index
  // and any failure belong to the previous file.
  failure_ = 0;
  file_offset_ = 0;
  index_count_ = 0;
  match_attempts_ = 4;
  long_matches_ = false;
  if (compressed_ == nullptr) {
    compressed_ = static_cast<uint8_t*>(raw_allocate(deflate_raw_bound(kMaxRawPayload) + format::kChunkHeaderSize));
    raw_payload_ = static_cast<uint8_t*>(raw_allocate(kMaxRawPayload));
    schedule_ = static_cast<uint8_t*>(raw_allocate(kMaxScheduleBytes));
    deflate_scratch_ = static_cast<DeflateScratch*>(raw_allocate(sizeof(DeflateScratch)));
    index_capacity_ = 1 << 16;
    index_ = static_cast<uint64_t*>(raw_allocate(index_capacity_ * sizeof(uint64_t)));
  }
  uint8_t header[16] = {};
  memcpy(header, format::kMagic, 8);
  header[8] = format::kVersion & 0xff;
  header[9] = format::kVersion >> 8;
  header[10] = flags & 0xff;
  header[11] = flags >> 8;
  write_all(header, sizeof(header));
  return failure_;
}

EventBuffer* ChunkWriter::take_free_buffer() {
  while (true) {
    pthread_mutex_lock(&queue_mutex_);
    EventBuffer* buffer = free_list_;
    bool map_new = false;
    if (buffer) {
      free_list_ = buffer->next;
    } else if (buffers_mapped_ < kMaxBuffers) {
      buffers_mapped_++;
      map_new = true;
    }
    pthread_mutex_unlock(&queue_mutex_);
    if (map_new) {
      buffer = static_cast<EventBuffer*>(raw_allocate(sizeof(EventBuffer)));
      buffer->data = static_cast<uint8_t*>(raw_allocate(kEventBufferSize));
      buffer->addresses = static_cast<uint8_t*>(raw_allocate(kEventBufferSize));
      buffer->sizes = static_cast<uint8_t*>(raw_allocate(kEventBufferSize));
      buffer->runs = static_cast<RecordRun*>(raw_allocate(kMaxRecordRuns * sizeof(RecordRun)));
    }
    if (buffer) {
      buffer->used = 0;
      buffer->addresses_used = 0;
      buffer->sizes_used = 0;
      buffer->runs_used = 0;
      buffer->next = nullptr;
      return buffer;
    }
    drain();  // back-pressure: the writer thread is behind, so this thread writes a chunk itself
  }
}

void ChunkWriter::submit(EventBuffer* buffer) {
  buffer->next = nullptr;
  pthread_mutex_lock(&queue_mutex_);
  if (queue_tail_) queue_tail_->next = buffer;
  else queue_head_ = buffer;
  queue_tail_ = buffer;
  pthread_mutex_unlock(&queue_mutex_);
}

void ChunkWriter::drain() {
  // One drainer at a time: the compression scratch space is shared.
  pthread_mutex_lock(&drain_mutex_);
  while (true) {
    pthread_mutex_lock(&queue_mutex_);
    EventBuffer* buffer = queue_head_;
    if (buffer) {
      queue_head_ = buffer->next;
      if (!queue_head_) queue_tail_ = nullptr;
    }
    pthread_mutex_unlock(&queue_mutex_);
    if (!buffer) break;
    if (buffer->used > 0) write_chunk(*buffer);
    pthread_mutex_lock(&queue_mutex_);
    buffer->next = free_list_;
    free_list_ = buffer;
    pthread_mutex_unlock(&queue_mutex_);
  }
  pthread_mutex_unlock(&drain_mutex_);
}

void ChunkWriter::write_chunk(const EventBuffer& buffer) {
  if (failure_) return;
  // The raw payload: the address section's length and bytes, the size section's, then the
  // records. Each part gets DEFLATE blocks of its own: their bytes have little in common.
  ByteCursor raw{raw_payload_};
  raw.varint(buffer.addresses_used);
  raw.bytes(buffer.addresses, buffer.addresses_used);
  const size_t addresses_end = static_cast<size_t>(raw.position - raw_payload_);
  raw.varint(buffer.sizes_used);
  raw.bytes(buffer.sizes, buffer.sizes_used);
  const size_t sizes_end = static_cast<size_t>(raw.position - raw_payload_);
  // The records, one stream per thread slot (docs/capture-format.md, "Chunk"): the schedule of runs
  // first, then the streams one after the other. Each thread's records then follow on from its
  // own, where interleaved they break each other's repeats (the storm's records 1.52 -> 1.24 MB,
  // buffers' 126 -> 107 kB re-encoding captures offline; workers' 324 -> 352 kB, whose two
  // threads run the same code).
  size_t stream_bytes[format::kThreadSlots + 1] = {};
  ByteCursor schedule{schedule_};
  uint32_t run_start = 0;
  uint32_t pending_stream = 0;
  size_t pending_bytes = 0;
  for (size_t i = 0; i < buffer.runs_used; i++) {
    const RecordRun& run = buffer.runs[i];
    const size_t bytes = run.end - run_start;
    run_start = run.end;
    if (bytes == 0) continue;
    stream_bytes[run.stream] += bytes;
    if (pending_bytes != 0 && run.stream != pending_stream) {
      schedule.varint(pending_stream);
      schedule.varint(pending_bytes);
      pending_bytes = 0;
    }
    pending_stream = run.stream;
    pending_bytes += bytes;
  }
  if (pending_bytes != 0) {
    schedule.varint(pending_stream);
    schedule.varint(pending_bytes);
  }
  const size_t schedule_bytes = static_cast<size_t>(schedule.position - schedule_);
  raw.varint(schedule_bytes);
  raw.bytes(schedule_, schedule_bytes);
  size_t block_breaks[3 + format::kThreadSlots + 1] = {addresses_end, sizes_end, static_cast<size_t>(raw.position - raw_payload_)};
  size_t break_count = 3;
  uint8_t* stream_at[format::kThreadSlots + 1];
  for (uint32_t stream = 0; stream <= format::kThreadSlots; stream++) {
    stream_at[stream] = raw.position;
    raw.position += stream_bytes[stream];
    if (stream_bytes[stream] != 0) block_breaks[break_count++] = static_cast<size_t>(raw.position - raw_payload_);
  }
  run_start = 0;
  for (size_t i = 0; i < buffer.runs_used; i++) {
    const RecordRun& run = buffer.runs[i];
    memcpy(stream_at[run.stream], buffer.data + run_start, run.end - run_start);
    stream_at[run.stream] += run.end - run_start;
    run_start = run.end;
  }
  const size_t raw_size = static_cast<size_t>(raw.position - raw_payload_);
  uint8_t* payload = compressed_ + format::kChunkHeaderSize;
  size_t stored = deflate_raw_compress(raw_payload_, raw_size, block_breaks, break_count, payload, deflate_scratch_, match_attempts_,
                                       long_matches_);
  // Searching harder pays on repetitive event streams; on near-random ones (threads freeing
  // concurrently scramble the addresses) it costs time for little: adapt to the last chunk.
  // Measured on format-5 chunks: past 6x (buffers), 32 tries instead of 8 make them 3-5% smaller
  // for 25% more compression time; below, 8 instead of 4 take 2-4% off for 10% more. Past 9x (an
  // allocation storm), the 8-byte chain with 16 tries: a storm's chunks 5.33 -> 5.13 MB in the
  // same time as 32 tries of the 4-byte chain (351 against 358 ms); on buffers' chunks (7x) it
  // gained 1% for 30% more time, and on tsc's (4x) 1% for 50% more.
  long_matches_ = stored * 9 < raw_size;
  match_attempts_ = stored * 2 > raw_size ? 1 : long_matches_ ? 16 : stored * 6 < raw_size ? 32 : 8;
  uint8_t codec = format::kCodecDeflate;
  if (stored >= raw_size) {
    memcpy(payload, raw_payload_, raw_size);
    stored = raw_size;
    codec = format::kCodecStored;
  }
  uint8_t* header = compressed_;
  memcpy(header, format::kChunkMagic, 4);
  header[4] = format::kChunkData;
  header[5] = codec;
  header[6] = header[7] = 0;
  put32(header + 8, static_cast<uint32_t>(stored));
  put32(header + 12, static_cast<uint32_t>(raw_size));
  put32(header + 16, fnv1a(payload, stored));
  put32(header + 20, buffer.first_event_index);
  if (index_count_ + kIndexFields > index_capacity_) {
    uint64_t* grown = static_cast<uint64_t*>(raw_allocate(index_capacity_ * 2 * sizeof(uint64_t)));
    memcpy(grown, index_, index_count_ * sizeof(uint64_t));
    raw_release(index_, index_capacity_ * sizeof(uint64_t));
    index_ = grown;
    index_capacity_ *= 2;
  }
  index_[index_count_++] = file_offset_;
  index_[index_count_++] = buffer.first_time_ns;
  index_[index_count_++] = buffer.first_block_ordinal;
  write_all(compressed_, format::kChunkHeaderSize + stored);
}

void ChunkWriter::finish(uint64_t total_events, uint64_t end_time_ns) {
  // What is left to compress now (the last buffer, and any the writer had not reached) holds up
  // the program's exit or the Tracker's stop, where every other chunk was compressed beside the
  // program: at most 4 tries per position. Recompressing workers' chunks (~1.8 MB raw, 6x),
  // 32 tries took 23.5 ms a chunk, 4 tries 14.1 ms for 5% more bytes (1 try: 12.1 ms, 14%); the
  // storm's (16x, the 8-byte chain kept) 6.4 against 6.1 ms for 1.4% more.
  if (match_attempts_ > 4) match_attempts_ = 4;
  drain();
  if (descriptor() < 0) return;
  if (!failure_) {
    size_t chunks = index_count_ / kIndexFields;
    size_t size = 32 + index_count_ * 10;
    uint8_t* trailer = static_cast<uint8_t*>(raw_allocate(size + format::kChunkHeaderSize));
    ByteCursor cursor{trailer + format::kChunkHeaderSize};
    cursor.varint(chunks);
    for (size_t i = 0; i < index_count_; i++) cursor.varint(index_[i]);
    cursor.varint(total_events);
    cursor.varint(end_time_ns);
    size_t stored = static_cast<size_t>(cursor.position - trailer) - format::kChunkHeaderSize;
    memcpy(trailer, format::kChunkMagic, 4);
    trailer[4] = format::kChunkTrailer;
    trailer[5] = format::kCodecStored;
    trailer[6] = trailer[7] = 0;
    put32(trailer + 8, static_cast<uint32_t>(stored));
    put32(trailer + 12, static_cast<uint32_t>(stored));
    put32(trailer + 16, fnv1a(trailer + format::kChunkHeaderSize, stored));
    put32(trailer + 20, static_cast<uint32_t>(total_events));
    write_all(trailer, format::kChunkHeaderSize + stored);
    raw_release(trailer, size + format::kChunkHeaderSize);
  }
  close_descriptor();
}

void ChunkWriter::forget_parent_capture() { close_descriptor(); }

void ChunkWriter::close_descriptor() {
  const int fd = descriptor();
  fd_.store(-1, std::memory_order_relaxed);
  if (fd >= 0) syscall(SYS_close, fd);  // not close(): memview's hook keeps the program from closing it
}

void ChunkWriter::write_all(const uint8_t* data, size_t size) {
  while (size > 0 && !failure_) {
    ssize_t written = write(descriptor(), data, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      failure_ = errno;
      return;
    }
    data += written;
    size -= static_cast<size_t>(written);
    file_offset_ += static_cast<uint64_t>(written);
  }
}

}  // namespace memview
