#include "tracker.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "accessible_ranges.h"
#include "byte_sink.h"
#include "chunk_writer.h"
#include "native_symbols.h"
#include "module_map.h"
#include "native_pc_set.h"
#include "raw_memory.h"
#include "record_format.h"
#include "reused_code.h"
#include "stack_trie.h"

namespace memview {

__thread int t_inside_memview __attribute__((tls_model("initial-exec"))) = 0;
volatile bool g_tracing = false;

namespace {

constexpr int kMaxFrames = 128;
// Room reserved in the active buffer before an event: the event itself plus one STACK record per
// frame in the worst case.
constexpr size_t kEventReserve = 64 + kMaxFrames * 24;
constexpr uint64_t kFlushIntervalNs = 250ull * 1000 * 1000;

// ---- per-thread state -------------------------------------------------------------------------

// The previous stack of the thread as walked (every frame, outermost first), with the trie node
// of the stored frames up to each depth: consecutive events share most of their stack, so only the
// frames below the first difference are classified and looked up in the trie.
struct ThreadState {
  uint32_t tid;
  uint64_t stack_high;  // the walk stops before it: frames above are not this thread's stack
  uint32_t cache_generation;
  int cache_depth;
  uint64_t cache_pcs[kMaxFrames];
  uint32_t cache_nodes[kMaxFrames];
  // Recent trie edges (parent, pc) -> child, direct-mapped: frames below the first change are
  // mostly edges this thread walked a moment ago (a loop allocating from a few places, two call
  // paths taking turns), and the global trie is too big to stay in cache. child 0 = empty.
  struct Edge {
    uint64_t pc;
    uint32_t parent;
    uint32_t child;
  };
  static constexpr int kEdgeCacheSize = 512;
  Edge edge_cache[kEdgeCacheSize];
  bool name_written;
};

__thread ThreadState* t_state __attribute__((tls_model("initial-exec"))) = nullptr;
// Set once a thread's state has been torn down (thread exit): later events of that thread (its
// TLS destructors still free memory) are recorded without a stack.
__thread bool t_state_gone __attribute__((tls_model("initial-exec"))) = false;
__thread uint32_t t_tid __attribute__((tls_model("initial-exec"))) = 0;

pthread_key_t g_thread_key;

// ---- shared state, guarded by g_lock ----------------------------------------------------------

// A test-and-test-and-set spin lock: waiters spin on a plain load, so they do not keep stealing
// the cache line from the holder (V8's sweeper threads free while the main thread allocates).
std::atomic<uint32_t> g_lock{0};

struct EncoderState {
  EventBuffer* buffer = nullptr;
  ByteCursor cursor{nullptr};
  uint8_t* limit = nullptr;
  // Delta bases of the format; they restart with every chunk.
  uint64_t previous_address = 0;
  uint64_t previous_stack = 0;
  uint64_t previous_pc = 0;
  uint32_t current_tid = 0;
};

EncoderState g_encoder;
ChunkWriter g_writer;
StackTrie* g_trie = nullptr;
NativePcSet* g_native_pcs = nullptr;
AccessibleRanges* g_accessible = nullptr;
ModuleMap* g_modules = nullptr;
uint32_t g_trie_generation = 1;
uint64_t g_event_count = 0;
uint32_t g_string_count = 0;
std::unordered_map<std::string, uint32_t>* g_strings = nullptr;
ReusedCode* g_code = nullptr;

uint64_t g_start_ns = 0;
uint64_t g_own_text_start = 0, g_own_text_end = 0;
bool g_native_frames = false;
bool g_follow_fork = false;
uint32_t g_sample_interval_ms = 10;
char g_output_path[4096];
char g_last_error[512];
pid_t g_pid = 0;

pthread_t g_writer_thread;
std::atomic<bool> g_writer_stop{false};
bool g_writer_running = false;
bool g_atfork_registered = false;

inline void lock() {
  int spins = 0;
  while (g_lock.exchange(1, std::memory_order_acquire) != 0) {
    while (g_lock.load(std::memory_order_relaxed) != 0) {
      if (++spins < 64) __builtin_ia32_pause();
      else sched_yield();
    }
  }
}
inline bool try_lock() { return g_lock.load(std::memory_order_relaxed) == 0 && g_lock.exchange(1, std::memory_order_acquire) == 0; }
inline void unlock() { g_lock.store(0, std::memory_order_release); }

uint64_t monotonic_ns() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000000ull + static_cast<uint64_t>(now.tv_nsec);
}

uint32_t current_tid() {
  if (t_tid == 0) t_tid = static_cast<uint32_t>(syscall(SYS_gettid));
  return t_tid;
}

// ---- encoding (all under g_lock) --------------------------------------------------------------

void write_time_locked(uint64_t now_ns);

void start_buffer_locked(uint64_t now_ns) {
  EventBuffer* buffer = g_writer.take_free_buffer();
  buffer->first_time_ns = now_ns - g_start_ns;
  buffer->first_event_index = static_cast<uint32_t>(g_event_count);
  g_encoder.buffer = buffer;
  g_encoder.cursor.position = buffer->data;
  g_encoder.limit = buffer->data + kEventBufferSize;
  g_encoder.previous_address = 0;
  g_encoder.previous_stack = 0;
  g_encoder.previous_pc = 0;
  g_encoder.current_tid = 0;
  write_time_locked(now_ns);
}

void rotate_buffer_locked(uint64_t now_ns) {
  EventBuffer* full = g_encoder.buffer;
  full->used = static_cast<size_t>(g_encoder.cursor.position - full->data);
  g_writer.submit(full);
  start_buffer_locked(now_ns);
}

inline void reserve_locked(size_t bytes) {
  if (__builtin_expect(g_encoder.cursor.position + bytes > g_encoder.limit, 0)) rotate_buffer_locked(monotonic_ns());
}

void write_time_locked(uint64_t now_ns) {
  g_encoder.cursor.byte(format::type_byte(format::kTime, 0));
  g_encoder.cursor.varint(now_ns - g_start_ns);
}

uint32_t intern_string_locked(const char* text, size_t length) {
  if (length == 0) return 0;
  if (length > 4000) length = 4000;
  std::string key(text, length);
  auto found = g_strings->find(key);
  if (found != g_strings->end()) return found->second;
  reserve_locked(length + 16);
  g_encoder.cursor.byte(format::type_byte(format::kString, 0));
  g_encoder.cursor.varint(length);
  g_encoder.cursor.bytes(text, length);
  uint32_t id = ++g_string_count;
  g_strings->emplace(std::move(key), id);
  return id;
}

uint32_t intern_string_locked(const char* text) { return intern_string_locked(text, text ? strlen(text) : 0); }

void write_meta_locked(const char* key, const char* value) {
  uint32_t key_id = intern_string_locked(key);
  uint32_t value_id = intern_string_locked(value);
  reserve_locked(32);
  g_encoder.cursor.byte(format::type_byte(format::kMeta, format::kMetaKeyValue));
  g_encoder.cursor.varint(key_id);
  g_encoder.cursor.varint(value_id);
}

void write_thread_name_locked(uint32_t tid, const char* name) {
  uint32_t name_id = intern_string_locked(name);
  reserve_locked(32);
  g_encoder.cursor.byte(format::type_byte(format::kMeta, format::kMetaThreadName));
  g_encoder.cursor.varint(tid);
  g_encoder.cursor.varint(name_id);
}

void write_module_locked(const ModuleInfo& module) {
  uint32_t path_id = intern_string_locked(module.path);
  reserve_locked(256);
  ByteCursor& out = g_encoder.cursor;
  out.byte(format::type_byte(format::kModule, 0));
  out.varint(module.load_bias);
  out.varint(path_id);
  out.varint(module.build_id_length);
  out.bytes(module.build_id, module.build_id_length);
  out.varint(module.segment_count);
  for (size_t i = 0; i < module.segment_count; i++) {
    out.varint(module.segment_start[i]);
    out.varint(module.segment_length[i]);
  }
}

inline void switch_thread_locked(uint32_t tid) {
  if (g_encoder.current_tid != tid) {
    g_encoder.cursor.byte(format::type_byte(format::kThread, 0));
    g_encoder.cursor.varint(tid);
    g_encoder.current_tid = tid;
  }
}

void reset_trie_locked();

// New code at [start, end), added or moved there.
void note_code_range_locked(uint64_t start, uint64_t end) {
  switch (g_code->note_code(start, end)) {
    case ReusedCode::Outcome::kNew:
      break;
    case ReusedCode::Outcome::kSalted:
      g_trie_generation++;  // per-thread caches may hold the unsalted pcs
      break;
    case ReusedCode::Outcome::kOutOfSalts:
      reset_trie_locked();
      break;
  }
}

void reset_trie_locked() {
  g_trie->reset();
  g_trie_generation++;
  g_code->forget_salts();
  reserve_locked(8);
  g_encoder.cursor.byte(format::type_byte(format::kStackReset, 0));
}

// ---- stacks -----------------------------------------------------------------------------------

void read_thread_comm(uint32_t tid, char* name, size_t size) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/self/task/%u/comm", tid);
  name[0] = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t length = read(fd, name, size - 1);
  close(fd);
  if (length <= 0) length = 0;
  while (length > 0 && (name[length - 1] == '\n' || name[length - 1] == 0)) length--;
  name[length] = 0;
}

void destroy_thread_state(void* state) {
  t_state = nullptr;
  t_state_gone = true;
  raw_release(state, sizeof(ThreadState));
}

ThreadState* thread_state() {
  ThreadState* state = t_state;
  if (__builtin_expect(state != nullptr, 1)) return state;
  if (t_state_gone) return nullptr;
  state = static_cast<ThreadState*>(raw_allocate(sizeof(ThreadState)));
  state->tid = current_tid();
  pthread_attr_t attributes;
  void* stack_address = nullptr;
  size_t stack_size = 0;
  if (pthread_getattr_np(pthread_self(), &attributes) == 0) {
    pthread_attr_getstack(&attributes, &stack_address, &stack_size);
    pthread_attr_destroy(&attributes);
  }
  state->stack_high = reinterpret_cast<uint64_t>(stack_address) + stack_size;
  state->cache_generation = 0;
  state->cache_depth = 0;
  state->name_written = false;
  t_state = state;
  pthread_setspecific(g_thread_key, state);
  return state;
}

// Walks the frame-pointer chain from here outwards. node, V8's builtins and its JIT code all keep
// frame pointers, so the walk passes through C++ and JavaScript frames alike. Returns the return
// addresses innermost first, without memview's own frames.
__attribute__((noinline)) int walk_stack(const ThreadState* state, uint64_t* pcs) {
  // Without the thread's stack bounds (it is exiting) the walk could run off its stack.
  if (state == nullptr) return 0;
  uint64_t frame = reinterpret_cast<uint64_t>(__builtin_frame_address(0));
  uint64_t low = frame;
  uint64_t high = state->stack_high;
  int count = 0;
  bool skipping_own = true;
  while (count < kMaxFrames) {
    if (frame < low || frame + 16 > high || (frame & 7) != 0) break;
    const uint64_t* slots = reinterpret_cast<const uint64_t*>(frame);
    uint64_t next = slots[0];
    uint64_t pc = slots[1];
    if (pc < 4096) break;
    if (skipping_own && pc >= g_own_text_start && pc < g_own_text_end) {
      // still inside memview's hook
    } else {
      skipping_own = false;
      pcs[count++] = pc;
    }
    if (next <= frame) break;
    frame = next;
  }
  return count;
}

inline uint32_t trie_child_locked(ThreadState* state, uint32_t node, uint64_t pc) {
  ThreadState::Edge& edge = state->edge_cache[(pc ^ (pc >> 9) ^ (node * 0x9E3779B1u)) & (ThreadState::kEdgeCacheSize - 1)];
  if (edge.child != 0 && edge.pc == pc && edge.parent == node) return edge.child;
  bool created;
  uint32_t child = g_trie->child(node, g_code->key(pc), &created);
  edge = {pc, node, child};
  if (created) {
    ByteCursor& out = g_encoder.cursor;
    out.byte(format::type_byte(format::kStack, 0));
    out.varint(child - node);
    out.zigzag(static_cast<int64_t>(pc - g_encoder.previous_pc));
    g_encoder.previous_pc = pc;
    if (g_modules->contains(pc)) g_native_pcs->insert(pc);
  }
  return child;
}

// Interns the walked stack (innermost first) and returns its trie node. Without --native only the
// JavaScript frames (pcs outside every loaded object are JIT code) and the innermost native frame
// (the caller of the allocator) are stored.
uint32_t intern_stack_locked(ThreadState* state, const uint64_t* pcs, int count) {
  if (state->cache_generation != g_trie_generation) {
    state->cache_depth = 0;
    memset(state->edge_cache, 0, sizeof(state->edge_cache));
    state->cache_generation = g_trie_generation;
  }
  int common = 0;
  int limit = count < state->cache_depth ? count : state->cache_depth;
  while (common < limit && state->cache_pcs[common] == pcs[count - 1 - common]) common++;
  uint32_t node = common > 0 ? state->cache_nodes[common - 1] : 0;
  for (int depth = common; depth < count; depth++) {
    uint64_t pc = pcs[count - 1 - depth];
    if (g_native_frames || !g_modules->contains(pc)) node = trie_child_locked(state, node, pc);
    state->cache_pcs[depth] = pc;
    state->cache_nodes[depth] = node;
  }
  state->cache_depth = count;
  if (!g_native_frames && count > 0 && g_modules->contains(pcs[0])) node = trie_child_locked(state, node, pcs[0]);
  return node;
}

// Everything an event needs before its own record: thread switch, thread name, new stack nodes.
// Returns the stack id. Caller holds g_lock.
inline uint32_t begin_event_locked(ThreadState* state, uint64_t* pcs, int count) {
  reserve_locked(kEventReserve);
  uint32_t tid = current_tid();
  if (state && !state->name_written) {
    state->name_written = true;
    char name[32];
    read_thread_comm(tid, name, sizeof(name));
    if (tid == static_cast<uint32_t>(g_pid)) write_thread_name_locked(tid, "main");
    else write_thread_name_locked(tid, name);
    reserve_locked(kEventReserve);
  }
  uint32_t stack = state ? intern_stack_locked(state, pcs, count) : 0;
  switch_thread_locked(tid);
  g_event_count++;
  return stack;
}

struct CapturedStack {
  ThreadState* state;
  int count;
  uint64_t pcs[kMaxFrames];
};

inline void capture_stack(CapturedStack* stack) {
  stack->state = thread_state();
  stack->count = walk_stack(stack->state, stack->pcs);
}

inline void write_address(uint64_t address) {
  g_encoder.cursor.zigzag(static_cast<int64_t>(address - g_encoder.previous_address));
  g_encoder.previous_address = address;
}

inline void write_stack_id(uint32_t stack) {
  g_encoder.cursor.zigzag(static_cast<int64_t>(stack - g_encoder.previous_stack));
  g_encoder.previous_stack = stack;
}

void write_map_locked(uint8_t cause, uint64_t start, uint64_t end, uint32_t stack) {
  reserve_locked(40);
  switch_thread_locked(current_tid());  // the reserve may have started a new chunk
  g_encoder.cursor.byte(format::type_byte(format::kMap, cause));
  write_address(start);
  g_encoder.cursor.varint(end - start);
  write_stack_id(stack);
}

void write_unmap_locked(uint8_t cause, uint64_t start, uint64_t end) {
  reserve_locked(32);
  switch_thread_locked(current_tid());
  g_encoder.cursor.byte(format::type_byte(format::kUnmap, cause));
  write_address(start);
  g_encoder.cursor.varint(end - start);
}

uint64_t page_size() {
  static uint64_t size = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return size;
}
inline uint64_t page_floor(uint64_t address) { return address & ~(page_size() - 1); }
inline uint64_t page_ceil(uint64_t address) { return (address + page_size() - 1) & ~(page_size() - 1); }

// ---- the writer thread ------------------------------------------------------------------------

uint64_t read_rss_bytes() {
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char text[128];
  ssize_t length = read(fd, text, sizeof(text) - 1);
  close(fd);
  if (length <= 0) return 0;
  text[length] = 0;
  const char* cursor = strchr(text, ' ');
  if (!cursor) return 0;
  return strtoull(cursor + 1, nullptr, 10) * page_size();
}

void write_sample_locked(uint64_t now_ns, uint64_t rss) {
  reserve_locked(32);
  write_time_locked(now_ns);
  g_encoder.cursor.byte(format::type_byte(format::kRss, 0));
  g_encoder.cursor.varint(rss);
}

void* writer_main(void*) {
  t_inside_memview = 1;  // nothing this thread does is the program's
  uint64_t interval_ns = static_cast<uint64_t>(g_sample_interval_ms) * 1000000ull;
  uint64_t next_tick = monotonic_ns() + interval_ns;
  while (!g_writer_stop.load(std::memory_order_acquire)) {
    uint64_t now = monotonic_ns();
    if (now < next_tick) {
      uint64_t wait = next_tick - now;
      if (wait > 5000000) wait = 5000000;  // wake often enough to drain full buffers promptly
      timespec pause{0, static_cast<long>(wait)};
      nanosleep(&pause, nullptr);
    } else {
      next_tick += interval_ns;
      if (next_tick < now) next_tick = now + interval_ns;
      uint64_t rss = read_rss_bytes();
      // try, not wait: a producer holding the lock may itself be waiting for this thread to
      // drain buffers.
      if (try_lock()) {
        if (g_tracing) {
          now = monotonic_ns();
          write_sample_locked(now, rss);
          if (now - g_encoder.buffer->first_time_ns - g_start_ns >= kFlushIntervalNs) rotate_buffer_locked(now);
        }
        unlock();
      }
    }
    g_writer.drain();
    if (g_writer.failure() && g_tracing) {
      g_tracing = false;  // disk full or gone: stop tracing, keep what was written
    }
  }
  return nullptr;
}

// ---- symbols at the end -----------------------------------------------------------------------

void write_symbols_locked() {
  symbolize_native_pcs(*g_native_pcs, *g_modules, [](uint64_t pc, const char* function, const char* file, uint32_t line) {
    uint32_t name_id = function ? intern_string_locked(function) : 0;
    uint32_t file_id = file ? intern_string_locked(file) : 0;
    reserve_locked(48);
    g_encoder.cursor.byte(format::type_byte(format::kSymbol, 0));
    g_encoder.cursor.varint(pc);
    g_encoder.cursor.varint(name_id);
    g_encoder.cursor.varint(file_id);
    g_encoder.cursor.varint(line);
  });
}

// ---- start / stop / fork ----------------------------------------------------------------------

void find_own_text() {
  uint64_t start, end;
  if (g_modules->segment_of(reinterpret_cast<uint64_t>(&walk_stack), &start, &end)) {
    g_own_text_start = start;
    g_own_text_end = end;
  }
}

void write_process_meta_locked(bool followed_child) {
  char value[64];
  snprintf(value, sizeof(value), "%d", static_cast<int>(getpid()));
  write_meta_locked("pid", value);
  snprintf(value, sizeof(value), "%d", static_cast<int>(getppid()));
  write_meta_locked("ppid", value);
  snprintf(value, sizeof(value), "%d", static_cast<int>(getpid()));
  write_meta_locked("mainThreadId", value);
  timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  snprintf(value, sizeof(value), "%llu",
           static_cast<unsigned long long>(wall.tv_sec) * 1000ull + static_cast<unsigned long long>(wall.tv_nsec / 1000000));
  write_meta_locked("startTimeUnixMs", value);
  snprintf(value, sizeof(value), "%llu", static_cast<unsigned long long>(page_size()));
  write_meta_locked("pageSize", value);
  snprintf(value, sizeof(value), "%u", g_sample_interval_ms);
  write_meta_locked("sampleIntervalMs", value);
  if (followed_child) write_meta_locked("followedChild", "1");
  // The command line as a JSON array of strings.
  std::string json = "[";
  int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    std::string raw;
    char block[4096];
    ssize_t length;
    while ((length = read(fd, block, sizeof(block))) > 0) raw.append(block, static_cast<size_t>(length));
    close(fd);
    size_t begin = 0;
    bool first = true;
    for (size_t i = 0; i < raw.size(); i++) {
      if (raw[i] != 0) continue;
      if (!first) json += ",";
      first = false;
      json += "\"";
      for (size_t j = begin; j < i; j++) {
        unsigned char c = static_cast<unsigned char>(raw[j]);
        if (c == '"' || c == '\\') { json += '\\'; json += static_cast<char>(c); }
        else if (c < 0x20) { char escaped[8]; snprintf(escaped, sizeof(escaped), "\\u%04x", c); json += escaped; }
        else json += static_cast<char>(c);
      }
      json += "\"";
      begin = i + 1;
    }
  }
  json += "]";
  write_meta_locked("commandLine", json.c_str());
}

void atfork_prepare() {
  lock();
}
void atfork_parent() { unlock(); }
void atfork_child();

int open_capture(const char* path) {
  return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

int start_locked_state(int fd, bool followed_child) {
  uint16_t flags = (g_native_frames ? format::kFlagNativeFrames : 0) | (followed_child ? format::kFlagFollowedChild : 0);
  int error = g_writer.open(fd, flags);
  if (error) return error;
  g_pid = getpid();
  g_start_ns = monotonic_ns();
  g_event_count = 0;
  g_trie_generation++;
  lock();
  start_buffer_locked(g_start_ns);
  write_process_meta_locked(followed_child);
  g_modules->refresh([](const ModuleInfo& module) { write_module_locked(module); });
  write_sample_locked(monotonic_ns(), read_rss_bytes());
  unlock();
  g_writer_stop.store(false);
  if (pthread_create(&g_writer_thread, nullptr, writer_main, nullptr) != 0) return EAGAIN;
  g_writer_running = true;
  g_tracing = true;
  return 0;
}

void atfork_child() {
  unlock();
  bool was_tracing = g_tracing;
  g_tracing = false;
  g_writer_running = false;  // threads do not survive fork
  if (!was_tracing || !g_follow_fork) return;
  ReentrancyGuard guard;
  t_tid = 0;
  if (t_state) {
    t_state->tid = current_tid();
    t_state->cache_generation = 0;
    t_state->name_written = false;
  }
  // A fresh capture for the child: new dictionaries, same accessible mappings (inherited memory).
  char path[4200];
  snprintf(path, sizeof(path), "%s.%d", g_output_path, static_cast<int>(getpid()));
  int fd = open_capture(path);
  if (fd < 0) return;
  new (&g_writer) ChunkWriter();
  g_trie->reset();
  g_strings->clear();
  g_string_count = 0;
  g_modules = new (raw_allocate(sizeof(ModuleMap))) ModuleMap();
  start_locked_state(fd, true);
}

}  // namespace

// ---- events -----------------------------------------------------------------------------------

void record_alloc(uint8_t kind, const void* address, size_t size) {
  CapturedStack stack;
  capture_stack(&stack);
  lock();
  if (g_tracing) {
    uint32_t stack_id = begin_event_locked(stack.state, stack.pcs, stack.count);
    g_encoder.cursor.byte(format::type_byte(format::kAlloc, kind));
    write_address(reinterpret_cast<uint64_t>(address));
    g_encoder.cursor.varint(size);
    write_stack_id(stack_id);
  }
  unlock();
}

void record_free(uint8_t kind, const void* address) {
  lock();
  if (g_tracing) {
    reserve_locked(32);
    switch_thread_locked(current_tid());
    g_event_count++;
    g_encoder.cursor.byte(format::type_byte(format::kFree, kind));
    write_address(reinterpret_cast<uint64_t>(address));
  }
  unlock();
}

extern "C" void* __libc_realloc(void*, size_t);
extern "C" void __libc_free(void*);

void* traced_realloc(void* old_address, size_t size) {
  CapturedStack stack;
  capture_stack(&stack);
  // The lock is held across the real call: once realloc returns, the old block may be handed to
  // another thread, and its allocation must not be written before this free.
  lock();
  void* result = __libc_realloc(old_address, size);
  if (g_tracing && (result != nullptr || size == 0)) {
    uint32_t stack_id = begin_event_locked(stack.state, stack.pcs, stack.count);
    if (result == nullptr) {  // realloc(p, 0) frees p
      g_encoder.cursor.byte(format::type_byte(format::kFree, format::kFreeKind));
      write_address(reinterpret_cast<uint64_t>(old_address));
    } else {
      g_encoder.cursor.byte(format::type_byte(format::kRealloc, 0));
      write_address(reinterpret_cast<uint64_t>(old_address));
      g_encoder.cursor.zigzag(static_cast<int64_t>(reinterpret_cast<uint64_t>(result) - reinterpret_cast<uint64_t>(old_address)));
      g_encoder.previous_address = reinterpret_cast<uint64_t>(result);
      g_encoder.cursor.varint(size);
      write_stack_id(stack_id);
    }
  }
  unlock();
  return result;
}

void* traced_mmap(void* address, size_t length, int protection, int flags, int fd, long offset) {
  CapturedStack stack;
  capture_stack(&stack);
  lock();
  void* result = reinterpret_cast<void*>(syscall(SYS_mmap, address, length, protection, flags, fd, offset));
  if (g_tracing && result != MAP_FAILED) {
    uint64_t start = reinterpret_cast<uint64_t>(result);
    uint64_t end = page_ceil(start + length);
    // A new mapping replaces whatever was there (MAP_FIXED), or fills a hole the kernel chose.
    g_accessible->lose(start, end, [](uint64_t a, uint64_t b) { write_unmap_locked(format::kCauseMmapOver, a, b); });
    if (protection != PROT_NONE) {
      uint32_t stack_id = begin_event_locked(stack.state, stack.pcs, stack.count);
      g_accessible->gain(start, end, [stack_id](uint64_t a, uint64_t b) { write_map_locked(format::kCauseMmap, a, b, stack_id); });
    }
  }
  unlock();
  return result;
}

int traced_munmap(void* address, size_t length) {
  lock();
  int result = static_cast<int>(syscall(SYS_munmap, address, length));
  if (g_tracing && result == 0) {
    uint64_t start = page_floor(reinterpret_cast<uint64_t>(address));
    uint64_t end = page_ceil(reinterpret_cast<uint64_t>(address) + length);
    switch_thread_locked(current_tid());
    g_accessible->lose(start, end, [](uint64_t a, uint64_t b) { write_unmap_locked(format::kCauseMunmap, a, b); });
  }
  unlock();
  return result;
}

int traced_mprotect(void* address, size_t length, int protection) {
  CapturedStack stack;
  bool gains = protection != PROT_NONE;
  if (gains) capture_stack(&stack);
  lock();
  int result = static_cast<int>(syscall(SYS_mprotect, address, length, protection));
  if (g_tracing && result == 0) {
    uint64_t start = page_floor(reinterpret_cast<uint64_t>(address));
    uint64_t end = page_ceil(reinterpret_cast<uint64_t>(address) + length);
    if (gains) {
      // Only walk the trie when pages actually become accessible (V8 often re-protects).
      uint32_t stack_id = 0;
      bool stack_written = false;
      g_accessible->gain(start, end, [&](uint64_t a, uint64_t b) {
        if (!stack_written) {
          stack_id = begin_event_locked(stack.state, stack.pcs, stack.count);
          stack_written = true;
        }
        write_map_locked(format::kCauseMprotect, a, b, stack_id);
      });
    } else {
      switch_thread_locked(current_tid());
      g_accessible->lose(start, end, [](uint64_t a, uint64_t b) { write_unmap_locked(format::kCauseMprotect, a, b); });
    }
  }
  unlock();
  return result;
}

void* traced_mremap(void* old_address, size_t old_length, size_t new_length, int flags, void* new_address) {
  CapturedStack stack;
  capture_stack(&stack);
  lock();
  void* result = reinterpret_cast<void*>(syscall(SYS_mremap, old_address, old_length, new_length, flags, new_address));
  if (g_tracing && result != MAP_FAILED) {
    uint64_t old_start = page_floor(reinterpret_cast<uint64_t>(old_address));
    uint64_t old_end = page_ceil(reinterpret_cast<uint64_t>(old_address) + old_length);
    bool was_accessible = g_accessible->any_accessible(old_start, old_end);
    switch_thread_locked(current_tid());
    g_accessible->lose(old_start, old_end, [](uint64_t a, uint64_t b) { write_unmap_locked(format::kCauseMremap, a, b); });
    if (was_accessible) {
      uint64_t start = reinterpret_cast<uint64_t>(result);
      uint64_t end = page_ceil(start + new_length);
      uint32_t stack_id = begin_event_locked(stack.state, stack.pcs, stack.count);
      g_accessible->gain(start, end, [stack_id](uint64_t a, uint64_t b) { write_map_locked(format::kCauseMremap, a, b, stack_id); });
    }
  }
  unlock();
  return result;
}

bool g_redirected = false;

void note_modules_changed() {
  if (g_redirected) redirect_loaded_objects();  // the new object must call the hooks too
  lock();
  if (g_tracing) g_modules->refresh([](const ModuleInfo& module) { write_module_locked(module); });
  unlock();
}

int start_tracing(const StartOptions& options) {
  ReentrancyGuard guard;
  if (g_tracing) return EBUSY;
  if (!g_trie) {
    pthread_key_create(&g_thread_key, destroy_thread_state);
    g_trie = new (raw_allocate(sizeof(StackTrie))) StackTrie();
    g_native_pcs = new (raw_allocate(sizeof(NativePcSet))) NativePcSet();
    g_accessible = new (raw_allocate(sizeof(AccessibleRanges))) AccessibleRanges();
    g_modules = new (raw_allocate(sizeof(ModuleMap))) ModuleMap();
    g_strings = new std::unordered_map<std::string, uint32_t>();
    g_code = new ReusedCode();
  }
  g_modules->refresh([](const ModuleInfo&) {});
  find_own_text();
  g_native_frames = options.native_frames;
  g_follow_fork = options.follow_fork;
  g_sample_interval_ms = options.sample_interval_ms ? options.sample_interval_ms : 10;
  strncpy(g_output_path, options.output_path, sizeof(g_output_path) - 1);
  int fd = open_capture(options.output_path);
  if (fd < 0) {
    int error = errno;
    snprintf(g_last_error, sizeof(g_last_error), "cannot write the capture to %s: %s", options.output_path, strerror(error));
    return error;
  }
  // A fresh module map: every module gets its MODULE record in this capture.
  g_modules->~ModuleMap();
  new (g_modules) ModuleMap();
  if (!g_redirected && !hooks_are_preloaded()) {
    redirect_loaded_objects();
    g_redirected = true;
  }
  if (!g_atfork_registered) {
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
    g_atfork_registered = true;
  }
  int error = start_locked_state(fd, options.followed_child);
  if (error) snprintf(g_last_error, sizeof(g_last_error), "cannot start tracing: %s", strerror(error));
  return error;
}

void stop_tracing(const char* end_reason) {
  ReentrancyGuard guard;
  if (!g_writer_running) return;
  int failure = g_writer.failure();
  lock();
  bool was_tracing = g_tracing;
  g_tracing = false;
  uint64_t now = monotonic_ns();
  if (was_tracing) {
    write_symbols_locked();
    write_meta_locked("endReason", end_reason);
    write_sample_locked(now, read_rss_bytes());
  }
  rotate_buffer_locked(now);
  unlock();
  g_writer_stop.store(true, std::memory_order_release);
  pthread_join(g_writer_thread, nullptr);
  g_writer_running = false;
  g_writer.finish(g_event_count, now - g_start_ns);
  failure = failure ? failure : g_writer.failure();
  if (failure) {
    fprintf(stderr, "memview: tracing stopped early: writing %s failed: %s; the capture holds the events written before\n",
            g_output_path, strerror(failure));
  }
}

}  // namespace memview

using namespace memview;

extern "C" {

int memview_is_tracing() { return g_tracing ? 1 : 0; }

int memview_start(const char* output_path, int native_frames, int sample_interval_ms) {
  StartOptions options{output_path, native_frames != 0, false, false, static_cast<uint32_t>(sample_interval_ms)};
  return start_tracing(options);
}

void memview_stop(const char* end_reason) { stop_tracing(end_reason ? end_reason : "stopped"); }

const char* memview_last_error() { return g_last_error; }

void memview_enter() { t_inside_memview++; }
void memview_leave() { t_inside_memview--; }

void memview_code_added(uint64_t start, uint64_t size, int code_type, const char* name, size_t name_length,
                        const char* script, size_t script_length, int line, int column, const uint32_t* positions,
                        size_t position_count) {
  ReentrancyGuard guard;
  lock();
  if (g_tracing) {
    note_code_range_locked(start, start + size);
    uint32_t name_id = intern_string_locked(name, name_length);
    uint32_t script_id = intern_string_locked(script, script_length);
    reserve_locked(64);
    ByteCursor* out = &g_encoder.cursor;
    out->byte(format::type_byte(format::kCode, format::kCodeAdd));
    out->varint(start);
    out->varint(size);
    out->varint(static_cast<uint64_t>(code_type));
    out->varint(name_id);
    out->varint(script_id);
    out->varint(static_cast<uint64_t>(line > 0 ? line : 0));
    out->varint(static_cast<uint64_t>(column > 0 ? column : 0));
    out->varint(position_count);
    uint32_t previous_offset = 0;
    for (size_t i = 0; i < position_count; i++) {
      reserve_locked(32);
      out = &g_encoder.cursor;
      out->varint(positions[i * 3] - previous_offset);
      out->varint(positions[i * 3 + 1]);
      out->varint(positions[i * 3 + 2]);
      previous_offset = positions[i * 3];
    }
  }
  unlock();
}

void memview_code_moved(uint64_t from, uint64_t to) {
  ReentrancyGuard guard;
  lock();
  if (g_tracing) {
    // The old range stays known (its pcs are interned); the new one is checked for reuse.
    uint64_t length = g_code->length_of(from);
    if (length > 0) note_code_range_locked(to, to + length);
    reserve_locked(32);
    g_encoder.cursor.byte(format::type_byte(format::kCode, format::kCodeMove));
    g_encoder.cursor.varint(from);
    g_encoder.cursor.varint(to);
  }
  unlock();
}

void memview_native_code_range(uint64_t start, uint64_t end) {
  ReentrancyGuard guard;
  lock();
  g_modules->add_native_range(start, end);
  g_trie_generation++;  // cached stacks classified these pcs as JavaScript
  unlock();
}

void memview_reset_stacks() {
  ReentrancyGuard guard;
  lock();
  if (g_tracing) reset_trie_locked();
  unlock();
}

void memview_thread_name(const char* name) {
  ReentrancyGuard guard;
  uint32_t tid = current_tid();
  ThreadState* state = thread_state();
  lock();
  if (g_tracing) {
    write_thread_name_locked(tid, name);
    if (state) state->name_written = true;
  }
  unlock();
}

void memview_meta(const char* key, const char* value) {
  ReentrancyGuard guard;
  lock();
  if (g_tracing) write_meta_locked(key, value);
  unlock();
}

}  // extern "C"
