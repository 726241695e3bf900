#include "tracker.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <linux/futex.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "accessible_ranges.h"
#include "capture_files.h"
#include "byte_sink.h"
#include "chunk_writer.h"
#include "deferred_code.h"
#include "elf_symbols.h"
#include "fatal_signals.h"
#include "freed_lists.h"
#include "heap_blocks.h"
#include "recent_blocks.h"
#include "module_map.h"
#include "native_pc_set.h"
#include "native_symbols.h"
#include "proc_file.h"
#include "object_symbols.h"
#include "raw_memory.h"
#include "record_format.h"
#include "reused_code.h"
#include "shared_log.h"
#include "stack_trie.h"
#include "string_table.h"
#include "thread_ring.h"

// How events travel (docs/collector.md, "Threads and order"):
//   hooked thread: walk the stack, intern it (per-thread caches; the trie's lock only for new
//   edges), take a sequence number, copy a RawEvent into the thread's own ring. No global lock.
//   rare records (stack nodes, strings, code, modules, mappings, clock): appended under g_lock to
//   the SharedLog, numbered from the same counter.
//   writer thread: merges rings and log back into sequence order, encodes the capture records,
//   compresses chunks and writes them.

namespace memview {

__thread int t_inside_memview __attribute__((tls_model("initial-exec"))) = 0;
// Set while memview's own JavaScript sets the process up (register.cjs): allocations made then
// are memview's, not the program's, and are left out of the capture. Frees still go in: a block
// the program allocated before may be freed in that window (a garbage collection), and a free of
// a block the capture never saw is one readers skip.
__thread int t_allocations_set_aside __attribute__((tls_model("initial-exec"))) = 0;
volatile bool g_tracing = false;

namespace {

constexpr int kMaxFrames = 128;
constexpr uint64_t kFlushIntervalNs = 250ull * 1000 * 1000;
// When the writer names native pcs as the run goes (write_symbols_as_run_goes): from
// kSymbolsAfterNs into the run, then at most every kSymbolsEveryNs, once kSymbolsAtLeast pcs wait.
// Node's start-up has reached most of a run's native pcs by 25 ms: named then, beside the main
// thread's bootstrap, they are not left to the exit of a short program (`node -e 0`: 62 -> 59 ms,
// 41 interleaved rounds; 100 ms before).
constexpr uint64_t kSymbolsAfterNs = 25ull * 1000 * 1000;
constexpr uint64_t kSymbolsEveryNs = 500ull * 1000 * 1000;
constexpr size_t kSymbolsAtLeast = 64;
// The writer merges at most this many sequence numbers per pass (the window is 1 MiB).
constexpr uint64_t kWindow = 1u << 15;
// Bigger code objects keep their first positions only, so a CODE record fits in a chunk.
constexpr size_t kMaxCodePositions = 1u << 15;
// Longer strings are cut: a name or path past this says nothing more to a reader.
constexpr size_t kMaxStringLength = 4000;
// A trie key is a pc with a salt in its top 16 bits (reused_code.h).
constexpr uint64_t kPcMask = (1ull << 48) - 1;
constexpr size_t kScratchSize = 1u << 20;

// ---- per-thread state -------------------------------------------------------------------------

// A frame record's two words, side by side as on the stack: one 16-byte load and compare each.
struct alignas(16) FrameRecord {
  uint64_t saved_fp;   // the caller's frame
  uint64_t return_pc;  // the return address
};

// An interpreter frame's two slots, in their order on the stack (below its frame pointer, see
// interpreted_pc): compared like a frame record.
struct alignas(16) BytecodeSlots {
  uint64_t bytecode_offset;  // fp - 40: the Smi of the bytecode's offset
  uint64_t bytecode_array;   // fp - 32: the tagged BytecodeArray
};
// What an interpreter frame that could not be read is compared at: always what it is cached as.
alignas(16) const BytecodeSlots kNoSlots = {0, 0};

// Two words read or cached together; the stack's are only 8-aligned.
typedef uint64_t Words __attribute__((vector_size(16)));
typedef uint64_t UnalignedWords __attribute__((vector_size(16), aligned(8)));

// The previous stack of the thread as walked (every frame, outermost first), with the trie node
// of the stored frames up to each depth: consecutive events share most of their stack, so only the
// frames below the first difference are classified and looked up in the trie. The cache also keeps
// where each frame was and what was read from it, so that the next walk can stop at the first
// frame that is still there unchanged (see walk_stack).
struct ThreadState {
  uint32_t tid;
  uint32_t capture_id;  // the capture this thread's name was written to
  uint64_t stack_high;  // the walk stops before it: frames above are not this thread's stack
  // Below it the thread is not on its own stack (a signal's alternate stack, a fiber's stack on
  // the heap): the walk's bounds would then span other mappings and holes, and it walks nothing.
  uint64_t stack_low;
  ThreadRing* ring;
  uint32_t cache_generation;
  uint32_t cache_epoch;  // the trie epoch the cached node ids belong to
  int cache_depth;
  uint64_t cache_pcs[kMaxFrames];
  uint32_t cache_nodes[kMaxFrames];
  uint64_t cache_hashes[kMaxFrames];       // the path hash of cache_nodes' node (stack_trie.h)
  uint64_t cache_frames[kMaxFrames];       // the frame's address
  FrameRecord cache_records[kMaxFrames];   // its two words as read
  // An interpreter frame as a walk read it: where its two slots lie and what they held.
  struct InterpreterFrame {
    uint64_t slots_address;  // fp - 40; kNoSlots' address when the frame was not readable (nor ever is)
    BytecodeSlots slots;
  };
  // The cached stack's interpreter frames, outermost first, side by side for the next walks'
  // comparison (an interpreter frame moves on while it lives): where the slots lie, what they held.
  uint64_t cache_interpreter_slot_addresses[kMaxFrames];
  BytecodeSlots cache_interpreter_slots[kMaxFrames];
  int cache_interpreter_depths[kMaxFrames];
  int cache_interpreter_count;
  uint64_t cache_interpreter_entry;        // g_interpreter_entry_start when the cache was built
  // The walk in progress, innermost first, moved into the cache by the interning that follows.
  uint64_t walk_frames[kMaxFrames];
  FrameRecord walk_records[kMaxFrames];
  bool walk_interpreted[kMaxFrames];
  InterpreterFrame walk_interpreter_frames[kMaxFrames];  // by walked index, where walk_interpreted
  // Recent trie edges (parent, pc) -> child, direct-mapped: frames below the first change are
  // mostly edges this thread walked a moment ago (a loop allocating from a few places, two call
  // paths taking turns), and the global trie is too big to stay in cache. child 0 = empty.
  // 4096 edges (64 KiB a thread): tsc's deep, varied stacks missed 512 often enough that the
  // global table's lookups were 3.4% of its samples (2.9% now).
  struct Edge {
    uint64_t pc;
    uint32_t parent;
    uint32_t child;
  };
  static constexpr int kEdgeCacheSize = 4096;
  Edge edge_cache[kEdgeCacheSize];
  // Recent pcs and whether a loaded object holds them (native), direct-mapped, for one version of
  // the module map: without it, classifying the walked frames (a binary search of the objects'
  // segments per frame) was a third of interning on 200,000 Buffers. pc 0 = empty.
  struct NativeVerdict {
    uint64_t pc;
    uint64_t native;
  };
  static constexpr int kVerdictCacheSize = 256;
  NativeVerdict verdicts[kVerdictCacheSize];
  uint64_t verdicts_version;
  ThreadState* next_free;  // in g_free_states once its thread has exited
};

__thread ThreadState* t_state __attribute__((tls_model("initial-exec"))) = nullptr;
// Set once a thread's state has been torn down (thread exit): later events of that thread (its
// TLS destructors still free memory) go through the shared log, without a stack.
__thread bool t_state_gone __attribute__((tls_model("initial-exec"))) = false;
__thread uint32_t t_tid __attribute__((tls_model("initial-exec"))) = 0;
// This thread's isolate's record of its innermost exit frame (memview_js_exit_slot), or nullptr;
// and of its outermost entry frame, or nullptr when only the first is known.
__thread const uint64_t* t_js_exit_slot __attribute__((tls_model("initial-exec"))) = nullptr;
__thread const uint64_t* t_js_entry_slot __attribute__((tls_model("initial-exec"))) = nullptr;

pthread_key_t g_thread_key;

// ---- shared state -----------------------------------------------------------------------------

// The one sequence: every event and every shared record takes its place in the capture from it.
// Starts at 1 so that a zeroed window slot never looks like a real event. Alone on its cache line:
// every event of every thread writes it, and the read-mostly trie epoch that used to share the
// line missed in cache on each event of each thread (workers: 38% of record_alloc's samples).
struct alignas(64) SequenceLine {
  std::atomic<uint64_t> next{1};
};
SequenceLine g_sequence_line;
std::atomic<uint64_t>& g_seq = g_sequence_line.next;
// Every thread's ring, newest first; pushed under g_lock, read by the writer without it.
std::atomic<ThreadRing*> g_rings{nullptr};
// False once the writer has stopped: a producer whose ring is full then drops its event instead
// of waiting for room that will never come.
std::atomic<bool> g_rings_open{false};

// Futex words: the writer sleeps on g_writer_kick between passes; a thread whose ring is full
// kicks it and sleeps on g_room_made, which the writer bumps after a pass when anyone waits.
std::atomic<uint32_t> g_writer_kick{0};
std::atomic<uint32_t> g_room_made{0};
std::atomic<uint32_t> g_room_waiters{0};

void futex_wait(std::atomic<uint32_t>* word, uint32_t seen, long timeout_ns) {
  timespec timeout{0, timeout_ns};
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, seen, &timeout, nullptr, 0);
}

void futex_wake_all(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, 0x7fffffff, nullptr, nullptr, 0);
}

void wake_writer() {
  g_writer_kick.fetch_add(1, std::memory_order_acq_rel);
  futex_wake_all(&g_writer_kick);
}

// Guards the trie, the string table, the code table, the MODULE records written, the accessible
// ranges and the shared log. Whoever holds it must not wait for anything a hooked call can hold:
// no malloc of the program's (string_table.h), no module refresh (g_modules_lock). A
// test-and-test-and-set spin lock: waiters spin on a plain load.
std::atomic<uint32_t> g_lock{0};

// Serialises module map refreshes and native ranges. Never waited for while g_lock is held, and
// g_lock is not taken while it is held: a refresh runs dl_iterate_phdr, which waits for the
// loader's lock, and dlclose frees under that lock (a program's own allocator may then unmap,
// through a hook that waits for g_lock).
std::atomic<uint32_t> g_modules_lock{0};
// How many of g_modules' objects have their MODULE record in this capture (under g_lock).
size_t g_modules_written = 0;

SharedLog g_log;
uint8_t* g_scratch = nullptr;  // shared records are encoded here first (under g_lock)
StackTrie* g_trie = nullptr;
NativePcSet* g_native_pcs = nullptr;
AccessibleRanges* g_accessible = nullptr;
ModuleMap* g_modules = nullptr;
// Read by every event, written a few times a run: on a line of their own, away from the lock and
// the sequence that every thread writes.
struct alignas(64) TrieVersionsLine {
  // Per-thread stack caches are valid for one generation (code salted or reclassified, trie reset).
  std::atomic<uint32_t> generation{1};
  // Trie node ids are valid for one epoch (a reset renumbers them).
  std::atomic<uint32_t> epoch{1};
};
TrieVersionsLine g_trie_versions;
std::atomic<uint32_t>& g_trie_generation = g_trie_versions.generation;
std::atomic<uint32_t>& g_trie_epoch = g_trie_versions.epoch;
uint32_t g_string_count = 0;
StringTable* g_strings = nullptr;
ReusedCode* g_code = nullptr;
DeferredCode* g_deferred_code = nullptr;
// Stack pcs that neither code V8 reported nor a loaded module covered when they were interned:
// pcs of an isolate that runs before V8 lists its code to memview. Its listing names them, and
// memview_reset_stacks writes the code they are in from this list, not from a scan of the whole
// trie (which a late worker start would make long, under the lock). Past its bound, the scan.
constexpr size_t kMaxUnnamedPcs = 1u << 20;  // 24 MiB of address space in all, touched as it fills
// Raw memory, like everything filled under g_lock (string_table.h says why).
uint64_t* g_unnamed_pcs = nullptr;
uint32_t* g_unnamed_pc_tids = nullptr;  // the thread that interned each: its isolate's listing names it
uint32_t* g_unnamed_pc_ms = nullptr;    // and when (milliseconds, wrapping): a worker lists soon after it starts
uint64_t* g_settled_pcs = nullptr;      // scratch: the pcs one pass gives up on (name_unnamed_pcs_locked)
// The threads whose isolate has listed its code, latest kListedThreads: a pc they intern unnamed
// after that (from a broken frame chain) can wait for no listing.
constexpr size_t kListedThreads = 256;
uint32_t g_listed_tids[kListedThreads];
size_t g_listed_count = 0;
size_t g_unnamed_pc_count = 0;
bool g_unnamed_pcs_overflowed = false;
std::atomic<uint32_t> g_capture_id{0};

uint64_t g_start_ns = 0;
uint64_t g_own_text_start = 0, g_own_text_end = 0;
bool g_native_frames = false;
bool g_follow_fork = false;
uint32_t g_sample_interval_ms = 10;
char g_output_path[4096];
char g_children_prefix[4096];
char g_last_error[512];
pid_t g_pid = 0;

pthread_t g_writer_thread;
std::atomic<bool> g_writer_stop{false};
bool g_writer_running = false;
// The thread that finishes a capture stopped at exit (stop_tracing_at_exit) while the process tears
// itself down; stop_tracing waits for it.
pthread_t g_finisher_thread;
bool g_finisher_running = false;
bool g_atfork_registered = false;
// A deadly signal (fatal_signals.h) on some thread: its number, set once by that thread's handler.
// The writer then finishes the capture itself, and sets g_capture_finished when the trailer is
// out, which the dying thread waits for (a bounded time: the dying thread may hold a lock the
// writer needs). g_finished_by_writer tells a stop running at the same time that nothing is left.
std::atomic<int> g_dying_signal{0};
// The dying signal is an ending one (SIGINT, SIGTERM, SIGHUP) whose handler returned: the writer
// hands it on once the capture is finished (fatal_signals.h).
std::atomic<bool> g_dying_signal_handed_on{false};
std::atomic<uint32_t> g_capture_finished{0};
bool g_finished_by_writer = false;
constexpr uint64_t kDyingWaitNs = 3000000000ull;

// Whether this thread holds g_lock: a program may ask (memview_holds_core_lock), so that a test's
// allocator can fail loudly where memview would call it under the lock.
__thread int t_holds_lock __attribute__((tls_model("initial-exec"))) = 0;

inline void lock() {
  int spins = 0;
  while (g_lock.exchange(1, std::memory_order_acquire) != 0) {
    while (g_lock.load(std::memory_order_relaxed) != 0) {
      if (++spins < 64) {
        __builtin_ia32_pause();
      } else if (spins < 128) {
        sched_yield();
      } else {
        // A long holder (writing MODULE records, the JIT code listing): sleep rather than spin.
        timespec pause{0, 50000};
        nanosleep(&pause, nullptr);
      }
    }
  }
  t_holds_lock = 1;
}
inline void unlock() {
  t_holds_lock = 0;
  g_lock.store(0, std::memory_order_release);
}

class ModulesLock {
 public:
  ModulesLock() {
    while (g_modules_lock.exchange(1, std::memory_order_acquire) != 0) {
      timespec pause{0, 50000};
      nanosleep(&pause, nullptr);
    }
  }
  ~ModulesLock() { g_modules_lock.store(0, std::memory_order_release); }
};

// Takes g_lock on first need and releases it at the end of the scope: an event whose stack is all
// in the thread's caches never touches it.
class LazyLock {
 public:
  explicit LazyLock(bool already_held) : held_(already_held), owned_(false) {}
  ~LazyLock() {
    if (owned_) unlock();
  }
  void need() {
    if (!held_) {
      lock();
      held_ = owned_ = true;
    }
  }

 private:
  bool held_;
  bool owned_;
};

uint64_t monotonic_ns() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000000ull + static_cast<uint64_t>(now.tv_nsec);
}

uint32_t current_tid() {
  if (t_tid == 0) t_tid = static_cast<uint32_t>(syscall(SYS_gettid));
  return t_tid;
}

inline uint64_t next_seq() { return g_seq.fetch_add(1, std::memory_order_acq_rel); }

// ---- shared records (all under g_lock) --------------------------------------------------------

// Encodes one self-contained record into the scratch space; finish_bytes_locked appends it.
inline ByteCursor begin_bytes_locked() { return ByteCursor{g_scratch}; }
void finish_bytes_locked(const ByteCursor& cursor) {
  uint32_t length = static_cast<uint32_t>(cursor.position - g_scratch);
  memcpy(g_log.append(next_seq(), kSharedBytes, length), g_scratch, length);
}

uint32_t intern_string_locked(const char* text, size_t length) {
  if (length == 0) return 0;
  if (length > kMaxStringLength) length = kMaxStringLength;
  uint32_t known = g_strings->find(text, length);
  if (known != 0) return known;
  ByteCursor out = begin_bytes_locked();
  out.byte(format::type_byte(format::kString, 0));
  out.varint(length);
  out.bytes(text, length);
  finish_bytes_locked(out);
  uint32_t id = ++g_string_count;
  g_strings->add(text, length, id);
  return id;
}

uint32_t intern_string_locked(const char* text) { return intern_string_locked(text, text ? strlen(text) : 0); }

void write_meta_locked(const char* key, const char* value) {
  uint32_t key_id = intern_string_locked(key);
  uint32_t value_id = intern_string_locked(value);
  ByteCursor out = begin_bytes_locked();
  out.byte(format::type_byte(format::kMeta, format::kMetaKeyValue));
  out.varint(key_id);
  out.varint(value_id);
  finish_bytes_locked(out);
}

void write_thread_name_locked(uint32_t tid, const char* name) {
  uint32_t name_id = intern_string_locked(name);
  ByteCursor out = begin_bytes_locked();
  out.byte(format::type_byte(format::kMeta, format::kMetaThreadName));
  out.varint(tid);
  out.varint(name_id);
  finish_bytes_locked(out);
}

void write_module_locked(const ModuleInfo& module) {
  uint32_t path_id = intern_string_locked(module.path);
  ByteCursor out = begin_bytes_locked();
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
  finish_bytes_locked(out);
}

// MODULE records for the objects a refresh found since the last call (caller holds g_lock).
void write_new_modules_locked() {
  const size_t count = g_modules->module_count();
  for (; g_modules_written < count; g_modules_written++) write_module_locked(g_modules->module(g_modules_written));
}

void write_sample_locked(uint64_t now_ns, uint64_t rss) {
  SharedTime* time = reinterpret_cast<SharedTime*>(g_log.append(next_seq(), kSharedTime, sizeof(SharedTime)));
  time->ns_since_start = now_ns - g_start_ns;
  time->rss_bytes = rss;
}

void write_map_locked(uint8_t cause, uint64_t start, uint64_t end, uint32_t stack) {
  SharedMapping* mapping = reinterpret_cast<SharedMapping*>(g_log.append(next_seq(), kSharedMap, sizeof(SharedMapping)));
  *mapping = {start, end, stack, current_tid(), cause};
}

void write_unmap_locked(uint8_t cause, uint64_t start, uint64_t end) {
  SharedMapping* mapping = reinterpret_cast<SharedMapping*>(g_log.append(next_seq(), kSharedUnmap, sizeof(SharedMapping)));
  *mapping = {start, end, 0, current_tid(), cause};
}

// When a reset that V8's listing of an isolate's code asked for was put off (memview_reset_stacks),
// or last looked at again, while pcs another isolate's listing may name wait; 0 when none is.
// Written under g_lock, read by the writer without it.
std::atomic<uint64_t> g_reset_deferred_since{0};
// How long an unnamed pc may wait for its isolate's listing: 24 workers started at once on 2 cores
// took over a second from their first allocation to their listing.
constexpr uint32_t kMaxUnnamedWaitMs = 5000;
// How often the writer looks again at a reset that was put off, and how long it may be put off.
constexpr uint64_t kDeferredResetCheckNs = 100ull * 1000 * 1000;
constexpr uint64_t kMaxResetDeferralNs = 10ull * 1000 * 1000 * 1000;
uint64_t g_reset_first_deferred = 0;  // under g_lock: when the reset put off now was first asked for

bool write_code_of_locked(uint64_t pc);
void note_code_range_locked(uint64_t start, uint64_t end, uint64_t identity);
uint64_t code_identity(const char* name, size_t name_length, const char* script, size_t script_length);

// Writes the code of every pc interned unnamed that reported code now covers, and keeps in the
// list those a listing still to come may name; returns how many are left. Dropped unnamed: pcs
// that turned out native (V8's copy of its builtins, registered late: no CODE record names them);
// those of a thread whose isolate has listed its code (`listed` just now): theirs was gone before
// (a module's top-level function, run once during a worker's start) or was never code (a broken
// frame chain), and code V8 puts at that address later must not name them; and those that waited
// kMaxUnnamedWaitMs (a thread that runs no JavaScript). After an overflow of the list (no threads
// known) nothing is kept.
// The name a pc that will never be named gets: a code object of one byte under it, written at
// once. Readers then settle that pc's nodes (a pending pc takes the first code that covers it, and
// the trie is not reset while other pcs wait); and code V8 puts there later overlaps a known range,
// so it is salted apart and does not take those nodes over.
void settle_as_unknown_code_locked(uint64_t pc) {
  static const char kName[] = "(code V8 never listed)";
  if (write_code_of_locked(pc)) return;  // a repeat of a pc settled just before
  const uint64_t identity = code_identity(kName, sizeof(kName) - 1, nullptr, 0);
  note_code_range_locked(pc - 1, pc, identity);
  CodeDescription code;
  code.start = pc - 1;
  code.size = 1;
  code.code_type = 1;
  code.name = kName;
  g_deferred_code->add(std::move(code), identity, 0);
  write_code_of_locked(pc);
}

// Keeps the unnamed pcs `keep(pc, tid, since_ms)` says yes to, in their order, in the three
// parallel lists; returns how many are left.
template <typename Keep>
size_t keep_unnamed_pcs_locked(Keep keep) {
  size_t left = 0;
  for (size_t i = 0; i < g_unnamed_pc_count; i++) {
    if (!keep(g_unnamed_pcs[i], g_unnamed_pc_tids[i], g_unnamed_pc_ms[i])) continue;
    g_unnamed_pcs[left] = g_unnamed_pcs[i];
    g_unnamed_pc_tids[left] = g_unnamed_pc_tids[i];
    g_unnamed_pc_ms[left] = g_unnamed_pc_ms[i];
    left++;
  }
  g_unnamed_pc_count = left;
  return left;
}

size_t name_unnamed_pcs_locked(uint32_t listed) {
  if (listed != 0 && std::find(g_listed_tids, g_listed_tids + std::min(g_listed_count, kListedThreads), listed) ==
                         g_listed_tids + std::min(g_listed_count, kListedThreads)) {
    g_listed_tids[g_listed_count++ % kListedThreads] = listed;
  }
  if (g_unnamed_pcs_overflowed) {
    g_trie->for_each_pc([](uint64_t key) { write_code_of_locked(key & kPcMask); });
    return 0;
  }
  uint32_t sorted_listed[kListedThreads];
  const size_t listed_known = std::min(g_listed_count, kListedThreads);
  std::copy(g_listed_tids, g_listed_tids + listed_known, sorted_listed);
  std::sort(sorted_listed, sorted_listed + listed_known);
  const uint32_t now_ms = static_cast<uint32_t>(monotonic_ns() / 1000000);
  size_t settled = 0;
  const size_t left = keep_unnamed_pcs_locked([&](uint64_t pc, uint32_t tid, uint32_t since_ms) {
    if (write_code_of_locked(pc)) return false;
    if (g_modules->contains(pc)) {
      g_native_pcs->insert(pc, static_cast<uint32_t>(g_modules->module_count()));  // see name_pcs_of_new_modules_locked
      return false;
    }
    if (now_ms - since_ms >= kMaxUnnamedWaitMs || std::binary_search(sorted_listed, sorted_listed + listed_known, tid)) {
      g_settled_pcs[settled++] = pc;
      return false;
    }
    return true;
  });
  const uint32_t epoch = g_trie_epoch.load(std::memory_order_relaxed);
  for (size_t i = 0; i < settled; i++) {
    settle_as_unknown_code_locked(g_settled_pcs[i]);
    // Out of salts, the trie was reset: no node is left to settle, and nothing waits.
    if (g_trie_epoch.load(std::memory_order_relaxed) != epoch) return 0;
  }
  return left;
}

// A library's constructors run inside dlopen, before the dlopen hook refreshes the module map:
// their allocations' pcs were in no known object when their nodes were defined. The MODULE record
// written after the refresh names them in readers (docs/capture-format.md, "Stacks"); here they
// join the native pcs that get SYMBOL records, and stop waiting for a CODE add.
void name_pcs_of_new_modules_locked() {
  if (g_unnamed_pcs_overflowed) return;
  const uint32_t modules_loaded = static_cast<uint32_t>(g_modules->module_count());
  keep_unnamed_pcs_locked([&](uint64_t pc, uint32_t, uint32_t) {
    if (!g_modules->contains(pc)) return true;
    g_native_pcs->insert(pc, modules_loaded);
    return false;
  });
}

void forget_unnamed_pcs_locked() {
  g_unnamed_pc_count = 0;
  g_unnamed_pcs_overflowed = false;
  g_reset_deferred_since.store(0, std::memory_order_relaxed);  // nothing waits for a name any more
}

void reset_trie_locked() {
  g_trie->reset();
  forget_unnamed_pcs_locked();
  // Before the reset's number is taken: an event numbered after it then sees the new epoch.
  g_trie_epoch.fetch_add(1, std::memory_order_relaxed);
  g_trie_generation.fetch_add(1, std::memory_order_relaxed);
  g_code->forget_salts();
  ByteCursor out = begin_bytes_locked();
  out.byte(format::type_byte(format::kStackReset, 0));
  finish_bytes_locked(out);
}

// New code at [start, end), added or moved there; `identity` is what it is (name and script ids).
void note_code_range_locked(uint64_t start, uint64_t end, uint64_t identity) {
  switch (g_code->note_code(start, end, identity)) {
    case ReusedCode::Outcome::kNew:
      break;
    case ReusedCode::Outcome::kSalted:
      g_trie_generation.fetch_add(1, std::memory_order_relaxed);  // per-thread caches may hold the unsalted pcs
      break;
    case ReusedCode::Outcome::kOutOfSalts:
      reset_trie_locked();
      break;
  }
}

// What ReusedCode compares to tell the same code reported again from new code at the same place.
uint64_t code_identity(const char* name, size_t name_length, const char* script, size_t script_length) {
  uint64_t hash = 0xcbf29ce484222325ull;
  auto mix = [&hash](const char* text, size_t length) {
    for (size_t i = 0; i < length; i++) hash = (hash ^ static_cast<uint8_t>(text[i])) * 0x100000001b3ull;
    hash = (hash ^ 0xff) * 0x100000001b3ull;
  };
  if (name) mix(name, name_length);
  if (script) mix(script, script_length);
  return hash;
}

// The CODE record of the code holding return address `pc`, if V8 reported that code and it was
// not written yet (deferred_code.h), with the strings it names. False when no reported code
// holds `pc`.
bool write_code_of_locked(uint64_t pc) {
  bool covered;
  const CodeDescription* code = g_deferred_code->take_unwritten(pc - 1, &covered);
  if (code == nullptr) return covered;
  uint32_t name_id = intern_string_locked(code->name.data(), code->name.size());
  uint32_t script_id = intern_string_locked(code->script.data(), code->script.size());
  const size_t position_count = code->positions.size() / 3;
  ByteCursor out = begin_bytes_locked();
  out.byte(format::type_byte(format::kCode, format::kCodeAdd));
  out.varint(code->start);
  out.varint(code->size);
  out.varint(static_cast<uint64_t>(code->code_type));
  out.varint(name_id);
  out.varint(script_id);
  out.varint(static_cast<uint64_t>(code->line > 0 ? code->line : 0));
  out.varint(static_cast<uint64_t>(code->column > 0 ? code->column : 0));
  out.varint(position_count);
  uint32_t previous_offset = 0;
  for (size_t i = 0; i < position_count; i++) {
    out.varint(code->positions[i * 3] - previous_offset);
    out.varint(code->positions[i * 3 + 1]);
    out.varint(code->positions[i * 3 + 2]);
    previous_offset = code->positions[i * 3];
  }
  finish_bytes_locked(out);
  return true;
}

// ---- threads ----------------------------------------------------------------------------------

// The calling thread's name (its comm, at most 15 bytes), from the kernel without a file: this runs
// under g_lock, once for every thread that starts.
void read_own_thread_name(char* name, size_t size) {
  char comm[17] = {};
  if (prctl(PR_GET_NAME, comm, 0, 0, 0) != 0) comm[0] = 0;
  snprintf(name, size, "%s", comm);
}

inline int hex_digit(char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }

// The end of the mapping that holds `address` (the top of this thread's stack, for an address on
// it), and its start in *mapping_start, read from /proc/self/maps with plain system calls. Not
// pthread_getattr_np: it mallocs (the main thread's reads /proc/self/maps through stdio, every
// thread's copies its CPU set), and a thread's first event can come from a mapping hook inside a
// program's own allocator, under its lock (Chromium's PartitionAlloc): that malloc would wait on
// the lock forever. 0 if not found. Since Linux 6.11 the kernel answers for the one mapping
// (PROCMAP_QUERY), without writing out the text of every mapping before it: a program starting
// thousands of threads spent 12% of its traced time in that text.
struct ProcmapQuery {  // struct procmap_query of <linux/fs.h>, which older kernel headers lack
  uint64_t size;
  uint64_t query_flags;
  uint64_t query_addr;
  uint64_t vma_start;
  uint64_t vma_end;
  uint64_t vma_flags;
  uint64_t vma_page_size;
  uint64_t vma_offset;
  uint64_t inode;
  uint32_t dev_major;
  uint32_t dev_minor;
  uint32_t vma_name_size;
  uint32_t build_id_size;
  uint64_t vma_name_addr;
  uint64_t build_id_addr;
};
constexpr unsigned long kProcmapQuery = _IOWR('f', 17, ProcmapQuery);

uint64_t end_of_mapping_holding(uint64_t address, uint64_t* mapping_start) {
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ProcmapQuery query = {};
  query.size = sizeof(query);
  query.query_addr = address;  // no flags: the mapping that covers it, or ENOENT
  if (ioctl(fd, kProcmapQuery, &query) == 0 && query.vma_start <= address && address < query.vma_end) {
    close(fd);
    *mapping_start = query.vma_start;
    return query.vma_end;
  }
  char buffer[8192];
  size_t filled = 0;
  uint64_t found = 0;
  while (found == 0) {
    ssize_t got = read(fd, buffer + filled, sizeof(buffer) - filled);
    if (got <= 0) break;
    filled += static_cast<size_t>(got);
    size_t line = 0;
    for (size_t i = 0; i < filled && found == 0; i++) {
      if (buffer[i] != '\n') continue;
      // "start-end perms ...": two hex numbers at the line's start.
      uint64_t start = 0, end = 0;
      size_t j = line;
      for (; j < i && buffer[j] != '-'; j++) start = start * 16 + static_cast<uint64_t>(hex_digit(buffer[j]));
      for (j++; j < i && buffer[j] != ' '; j++) end = end * 16 + static_cast<uint64_t>(hex_digit(buffer[j]));
      if (start <= address && address < end) {
        found = end;
        *mapping_start = start;
      }
      line = i + 1;
    }
    // Keep the unfinished last line; a line longer than the buffer (a very long path) is dropped.
    if (line == 0 && filled == sizeof(buffer)) line = filled;
    memmove(buffer, buffer + line, filled - line);
    filled -= line;
  }
  close(fd);
  return found;
}

void name_thread_locked(ThreadState* state) {
  state->capture_id = g_capture_id.load(std::memory_order_relaxed);
  if (state->tid == static_cast<uint32_t>(g_pid)) {
    write_thread_name_locked(state->tid, "main");
  } else {
    char name[32];
    read_own_thread_name(name, sizeof(name));
    write_thread_name_locked(state->tid, name);
  }
}

// A ring for a new thread: one left by a thread that exited (the writer has drained it), or a new
// one pushed on the registry. Caller holds g_lock.
ThreadRing* acquire_ring_locked(uint32_t tid) {
  ThreadRing* ring = g_rings.load(std::memory_order_acquire);
  for (; ring != nullptr; ring = ring->next) {
    uint32_t expected = ThreadRing::kFree;
    if (ring->owner.compare_exchange_strong(expected, ThreadRing::kActive, std::memory_order_acq_rel)) break;
  }
  if (ring == nullptr) {
    // No "()": value-initialising would zero the 1 MiB of entries, faulting in every page of fresh
    // memory that is zero already.
    ring = new (raw_allocate(sizeof(ThreadRing))) ThreadRing;
    ring->next = g_rings.load(std::memory_order_relaxed);
    g_rings.store(ring, std::memory_order_release);
  }
  ring->tid = tid;
  ring->last_seq = g_seq.load(std::memory_order_relaxed);
  return ring;
}

// The states of exited threads, kept for the threads that start next (under g_lock). A state is
// ~110 kB: mapping a fresh one for every thread and unmapping it at the thread's exit was most of
// the traced time of a program that starts threads by the thousand (4,000 short threads: page
// faults on the new state's first touch 40% of the samples, the unmaps' TLB shootdowns 10%).
ThreadState* g_free_states = nullptr;

void forget_listed_thread_locked(uint32_t tid) {
  const size_t known = std::min(g_listed_count, kListedThreads);
  for (size_t i = 0; i < known; i++) {
    if (g_listed_tids[i] == tid) g_listed_tids[i] = 0;
  }
}

void destroy_thread_state(void* memory) {
  ThreadState* state = static_cast<ThreadState*>(memory);
  t_state = nullptr;
  t_state_gone = true;
  state->ring->owner.store(ThreadRing::kExited, std::memory_order_release);
  lock();
  state->next_free = g_free_states;
  g_free_states = state;
  forget_listed_thread_locked(current_tid());  // a new thread may get its id
  unlock();
}

ThreadState* new_thread_state() {
  if (t_state_gone) return nullptr;
  ThreadState* state = t_state;
  if (state == nullptr) {
    const uint32_t tid = current_tid();
    lock();
    state = g_free_states;
    if (state != nullptr) g_free_states = state->next_free;
    ThreadRing* ring = acquire_ring_locked(tid);
    unlock();
    // A state left by an exited thread keeps its old contents: what a new thread reads before
    // writing is reset here (fresh memory is zero).
    if (state == nullptr) state = static_cast<ThreadState*>(raw_allocate(sizeof(ThreadState)));
    state->cache_interpreter_count = 0;
    state->cache_interpreter_entry = 0;
    state->verdicts_version = ~0ull;
    state->tid = tid;
    state->ring = ring;
    uint64_t mapping_start = 0;
    state->stack_high = end_of_mapping_holding(reinterpret_cast<uint64_t>(__builtin_frame_address(0)), &mapping_start);
    // The main thread's stack grows down past its mapping's start, as far as RLIMIT_STACK lets it.
    if (state->tid == static_cast<uint32_t>(getpid())) {
      rlimit limit;
      const uint64_t room = getrlimit(RLIMIT_STACK, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY ? limit.rlim_cur : (1ull << 32);
      mapping_start = state->stack_high > room ? state->stack_high - room : 0;
    }
    state->stack_low = mapping_start;
    state->cache_generation = 0;
    state->cache_epoch = 0;
    state->cache_depth = 0;
    state->capture_id = 0;
    t_state = state;
    pthread_setspecific(g_thread_key, state);
  }
  // First event of this thread in this capture: its name goes first.
  lock();
  if (g_tracing) name_thread_locked(state);
  unlock();
  return state;
}

inline ThreadState* thread_state() {
  ThreadState* state = t_state;
  if (__builtin_expect(state != nullptr && state->capture_id == g_capture_id.load(std::memory_order_relaxed), 1)) return state;
  return new_thread_state();
}

// ---- stacks ----------------------------------------------------------------------------------

// Interpreted JavaScript. Every interpreted function runs in one shared builtin,
// InterpreterEntryTrampoline, so its return address says nothing about the function. Its frame
// does: V8 keeps the function's BytecodeArray and the offset of the bytecode being run (saved
// before every call out) in fixed slots below the frame pointer. A return address inside the
// trampoline is replaced by the address of that bytecode plus one (a return-address-like value, so
// a reader's "pc - 1" lands on the bytecode itself); V8 reports bytecode arrays, their moves and
// their source positions through the code event handler like JIT code, so readers name it and
// find the line of the call. The trampoline's range comes from the addon's listing of builtins.
// Slots for V8 11 on x64, no pointer compression (Node 20):
// fp - 32 holds the tagged BytecodeArray, fp - 40 the Smi (value << 32) of the bytecode's offset
// from the tagged array pointer.
//
// One range: the trampoline in node's text. Interpreted functions are entered there in every
// isolate; V8's per-isolate copies of the builtins (short builtin calls) are not used for it (a tsc
// run names the same frames with or without the copies checked). A plain pair of words, read once
// per walk: a walk racing with the registration misses one substitution.
constexpr uint64_t kBytecodeArraySlot = 32;
constexpr uint64_t kBytecodeOffsetSlot = 40;
uint64_t g_interpreter_entry_start = 0;
uint64_t g_interpreter_entry_size = 0;  // 0: not known yet

// The bytecode an interpreter frame at `frame` is running, as a return-address-like value; 0 when
// the slots do not hold a tagged pointer and a Smi (then the trampoline's own pc is kept). *read
// gets where the slots are and what they hold (kNoSlots when the frame is not on this stack).
inline uint64_t interpreted_pc(uint64_t frame, uint64_t low, uint64_t high, ThreadState::InterpreterFrame* read) {
  static_assert(kBytecodeOffsetSlot == kBytecodeArraySlot + 8, "BytecodeSlots: the offset's slot, then the array's");
  if (frame < low + kBytecodeOffsetSlot || frame >= high || (frame & 7) != 0) {
    *read = {reinterpret_cast<uint64_t>(&kNoSlots), kNoSlots};
    return 0;
  }
  const uint64_t* slots = reinterpret_cast<const uint64_t*>(frame);
  uint64_t bytecode_array = slots[-static_cast<int64_t>(kBytecodeArraySlot / 8)];
  uint64_t offset_smi = slots[-static_cast<int64_t>(kBytecodeOffsetSlot / 8)];
  *read = {frame - kBytecodeOffsetSlot, {offset_smi, bytecode_array}};
  if ((bytecode_array & 7) != 1 || (offset_smi & 0xffffffffu) != 0 || bytecode_array >= (1ull << 47)) return 0;
  uint64_t offset = offset_smi >> 32;
  if (offset == 0 || offset > (1u << 30)) return 0;
  return bytecode_array + offset + 1;
}

// The pc to store for a frame whose return address is `return_pc` and whose caller's frame is
// `saved_fp`: the bytecode being run when the caller is an interpreter frame (whose slots go to
// *read).
inline uint64_t effective_pc(uint64_t return_pc, uint64_t saved_fp, uint64_t low, uint64_t high, uint64_t entry,
                             uint64_t entry_size, bool* interpreted, ThreadState::InterpreterFrame* read) {
  *interpreted = return_pc - entry < entry_size;
  if (__builtin_expect(!*interpreted, 1)) return return_pc;
  // The frame that called out of the trampoline's handler saved the interpreter frame's fp.
  uint64_t bytecode = interpreted_pc(saved_fp, low, high, read);
  return bytecode != 0 ? bytecode : return_pc;
}

// What changed in cached interpreter frame k's two slots (zero: nothing), and in cached frame
// record i's two words: one 16-byte load from the stack xor-ed with the cached copy.
inline Words bytecode_change(const ThreadState* state, int k) {
  return *reinterpret_cast<const UnalignedWords*>(state->cache_interpreter_slot_addresses[k]) ^
         *reinterpret_cast<const Words*>(&state->cache_interpreter_slots[k]);
}
inline Words record_change(const ThreadState* state, int i) {
  return *reinterpret_cast<const UnalignedWords*>(state->cache_frames[i]) ^ *reinterpret_cast<const Words*>(&state->cache_records[i]);
}

// A frame address the walk may read: on this thread's stack between `low` (the walk's own frame)
// and `high`, 8-aligned. Not `frame + 16 > high`: in code without frame pointers rbp holds any
// value, and one near 2^64 wrapped that sum past the check (binutils' `as` crashed on rbp = -16).
inline bool is_frame_address(uint64_t frame, uint64_t low, uint64_t high) {
  return frame >= low && frame <= high - 16 && (frame & 7) == 0;
}

// Whether the walk goes on from the innermost exit frame rather than from `next`, the caller of the
// frames it walked: when that frame lies further out on this stack (walk_stack).
inline bool jumps_to_exit_frame(uint64_t exit_frame, uint64_t next, uint64_t high) {
  return exit_frame > next && exit_frame <= high - 16 && (exit_frame & 7) == 0;
}

// Whether a record's second word can be a return address. One is a user-space address (x86-64:
// below 2^47); anything else is a frame record that is not one (a caller without a frame pointer
// left the chain pointing at stale stack), and the walk ends there rather than intern garbage. Nor
// is an address on this stack [stack_low, high), or a value whose low half is (nearly) zero, as
// V8's small integers and packed pairs of 32-bit numbers are (a call's return address would lie
// in the first bytes of a 4 GiB-aligned region): what a record holds when rbp pointed at data, in
// code without frame pointers.
inline bool is_return_address(uint64_t pc, uint64_t stack_low, uint64_t high) {
  return pc - 4096 < (1ull << 47) - 4096 && pc - stack_low >= high - stack_low && (pc & 0xffffffffu) >= 16;
}

// The first interpreter frame among the cached frames at depths [from, to) that no longer runs the
// bytecode it ran (an interpreter frame moves on to other calls while it lives), or `to`. *next is
// where the cached interpreter frames are to be looked at from (a walk asks about ever deeper
// ranges). Slots that read as they did give the same pc; slots that changed are taken as a move
// even where they would give the same pc (the walk then only goes on further than it had to).
// Each frame's slots are one 16-byte load xor-ed with their cached copy, looked at every four
// frames, as the outer records are: with a compare and branch per slot this was a third of tsc's
// walk instructions (cachegrind).
int first_moved_bytecode(const ThreadState* state, int* next, int from, int to) {
  const int* depths = state->cache_interpreter_depths;
  int i = *next;
  while (i < state->cache_interpreter_count && depths[i] < from) i++;
  // Outermost first, so the depths rise: [i, end) are the frames asked about.
  int end = i, high = state->cache_interpreter_count;
  while (end < high) {
    const int middle = (end + high) / 2;
    if (depths[middle] < to) end = middle + 1;
    else high = middle;
  }
  auto moved = [state](int k) { return bytecode_change(state, k); };
  for (; i + 4 <= end; i += 4) {
    const Words any = (moved(i) | moved(i + 1)) | (moved(i + 2) | moved(i + 3));
    if ((any[0] | any[1]) != 0) break;  // the loop below finds which
  }
  for (; i < end; i++) {
    const Words difference = moved(i);
    if ((difference[0] | difference[1]) != 0) {
      *next = i;
      return depths[i];
    }
  }
  *next = end;
  return to;
}

// Whether the frame records outwards of cached record `match` (whose saved frame pointer is
// `next`) are still the cached ones: -1 if so, else the depth of the outermost cached record that
// a stop at a deeper match would check again and find changed (or `match` when only the link from
// it differs). One record with the same address and words says nothing about
// its caller's caller: a helper called from two functions whose frames lie at the same address
// leaves the same records up to the one that returns into either function, and stopping at the
// first matching record gave one path's stack to the other's allocations (0.4% of buffers', 2% of
// workers', 5-11% of json's, maps' and zlib's, counted). Each cached record's saved frame pointer
// is the next one's address, so the records are read at their cached addresses: the loads do not
// wait for each other. Each is one 16-byte load xor-ed with its cached copy, and the differences
// are looked at every four records: a compare and branch per word cost more than the loads (~40
// records a walk on node's stacks).
inline int changed_outer_record(const ThreadState* state, int match, uint64_t next) {
  if (match > 0 && state->cache_frames[match - 1] != next) return match;
  auto difference = [state](int i) { return record_change(state, i); };
  int i = match - 1;
  for (; i >= 3; i -= 4) {
    Words any = (difference(i) | difference(i - 1)) | (difference(i - 2) | difference(i - 3));
    if ((any[0] | any[1]) != 0) return i;  // one of i-3..i changed: a match above i would see it
  }
  const int rest = i;
  Words any = {0, 0};
  for (; i >= 0; i--) any |= difference(i);
  return (any[0] | any[1]) == 0 ? -1 : rest;
}

// Whether the cached frame records at depths [0, to) all still hold what they held: the test of
// changed_outer_record without its answer of where (the case below then goes the general way, which
// finds it), on two accumulators and one branch at the end: ~20 records on an ES module's stacks,
// ~60 on tsc's. (Looking every eight records, to give up early, cost buffers 7% of the walk's
// instructions and gained tsc nothing: by the time this runs, nearly every check passes.)
inline bool records_unchanged(const ThreadState* state, int to) {
  auto difference = [state](int i) { return record_change(state, i); };
  Words even = {0, 0}, odd = {0, 0};
  int i = to - 1;
  for (; i >= 3; i -= 4) {
    even |= difference(i) | difference(i - 2);
    odd |= difference(i - 1) | difference(i - 3);
  }
  for (; i >= 0; i--) even |= difference(i);
  even |= odd;
  return (even[0] | even[1]) == 0;
}

// Whether the cached interpreter frames at depths [0, to) all still run the bytecode they ran;
// innermost first, looked at every four frames. An interpreted function that calls out again from
// another place is the usual change, and it is the innermost interpreter frame that moved (tsc's
// stacks hold dozens of them).
inline bool bytecode_unmoved(const ThreadState* state, int to) {
  // Only the cache's innermost frame can lie past `to` here; were more to, checking them too would
  // only send an event the general way.
  int k = state->cache_interpreter_count;
  if (k > 0 && state->cache_interpreter_depths[k - 1] >= to) k--;
  auto moved = [state](int i) { return bytecode_change(state, i); };
  Words any = {0, 0};
  for (; k >= 4; k -= 4) {
    any |= (moved(k - 1) | moved(k - 2)) | (moved(k - 3) | moved(k - 4));
    if ((any[0] | any[1]) != 0) return false;
  }
  for (; k > 0; k--) any |= moved(k - 1);
  return (any[0] | any[1]) == 0;
}

// The walk's most common case, taken on its own (walk_stack's loop gives the same answer, with a
// dozen more checks per frame): the allocator's caller `frame` is C++ that JavaScript called
// through the exit frame the thread's previous walk also went through, at cached depth
// `exit_depth` (the cache's second innermost frame), and that frame and every cached record and
// interpreter frame outwards of it are unchanged. Buffers' four allocations per Buffer.alloc are
// this, and so are most events of any program whose allocations come from V8's runtime and node's
// bindings. Records the allocator's caller as walked frame 0 and returns how many cached frames
// complete it (exit_depth + 1), or 0 when the case does not hold.
inline int repeated_js_call(ThreadState* state, uint64_t frame, uint64_t low, uint64_t high, uint64_t entry,
                            uint64_t entry_size, uint64_t exit_frame, uint64_t entry_frame, int exit_depth) {
  if (exit_frame != state->cache_frames[exit_depth] || frame == entry_frame || exit_frame == entry_frame) return 0;
  if (!is_frame_address(frame, low, high)) return 0;
  const uint64_t* slots = reinterpret_cast<const uint64_t*>(frame);
  const uint64_t next = slots[0], pc = slots[1];
  // walk_stack's checks on this frame, and its condition for the jump to the exit frame.
  if (!is_return_address(pc, state->stack_low, high) || pc - entry < entry_size || next <= frame ||
      !jumps_to_exit_frame(exit_frame, next, high)) {
    return 0;
  }
  const Words exit_record = *reinterpret_cast<const UnalignedWords*>(exit_frame) ^
                            *reinterpret_cast<const Words*>(&state->cache_records[exit_depth]);
  if ((exit_record[0] | exit_record[1]) != 0) return 0;
  if (exit_depth > 0 && state->cache_frames[exit_depth - 1] != state->cache_records[exit_depth].saved_fp) return 0;
  if (!bytecode_unmoved(state, exit_depth + 1) || !records_unchanged(state, exit_depth)) return 0;
  state->walk_frames[0] = frame;
  state->walk_records[0] = {next, pc};
  state->walk_interpreted[0] = false;
  return exit_depth + 1;
}

// Walks the frame-pointer chain from here outwards. node, V8's builtins and its JIT code all keep
// frame pointers, so the walk passes through C++ and JavaScript frames alike. Writes the return
// addresses innermost first, without memview's own frames, and returns how many.
//
// The walk stops early at a frame that the thread's previous (complete) stack also had, at the
// same address and with the same two words in it, when every record outwards of it is also still
// as cached (changed_outer_record): the chain from there is then the previous stack's. *reused
// is how many outermost frames of the cached stack complete this one (0 when the walk went to the
// end). Interpreter frames are the exception, their bytecode offset moves while they live: they
// are read again, once per walk (a deep interpreted stack would otherwise be re-read at every frame
// the walk passes). The cached records lie on this thread's stack, which stays mapped: reading
// them where nothing lives any more reads stale words, which then differ or are the same record.
//
// Without --native, once `exit_after` frames are walked (the allocator's caller, or the few frames
// allocated_for_memview looks at), the walk goes on from the thread's innermost exit frame, where
// JavaScript called into C++, if one lies further out: the frames between are C++ (V8's runtime,
// node's bindings), which are not stored, and on 200,000 Buffers they were most of each walk. V8
// keeps that frame's address for its own sampling profiler, which relies on the same rule: set by
// every call from JavaScript into C++, zero while JavaScript runs (a call into JavaScript saves and
// clears it, its return restores it), so a non-zero value lies on the stack's live part.
__attribute__((noinline)) int walk_stack(ThreadState* state, uint64_t* pcs, int* reused, int exit_after) {
  *reused = 0;
  // Without the thread's stack bounds (it is exiting) the walk could run off its stack.
  if (state == nullptr || state->stack_high < 16) return 0;
  uint64_t frame = reinterpret_cast<uint64_t>(__builtin_frame_address(0));
  const uint64_t stack_low = state->stack_low;
  if (frame < stack_low) return 0;
  uint64_t low = frame;
  uint64_t high = state->stack_high;
  // memview's own frames come first (the hook's): compiled with frame pointers, each record whose
  // return address lies in memview's code was written by memview's code, so it links to a real
  // frame, and only that address needs looking at. The first other one is the program's.
  const uint64_t own_start = g_own_text_start, own_size = g_own_text_end - g_own_text_start;
  while (reinterpret_cast<const uint64_t*>(frame)[1] - own_start < own_size) {
    uint64_t next = reinterpret_cast<const uint64_t*>(frame)[0];
    if (next <= frame || next > high - 16) return 0;
    frame = next;
  }
  int count = 0;
  // Checked on every frame of every event: one subtraction and compare, no loop, no atomics.
  const uint64_t entry = g_interpreter_entry_start, entry_size = g_interpreter_entry_size;
  // The cached frame to compare with next, innermost first; -1: nothing to reuse (none cached,
  // the cached walk was cut at kMaxFrames, or it predates the trampoline's range).
  int match = state->cache_depth < kMaxFrames && state->cache_interpreter_entry == entry ? state->cache_depth - 1 : -1;
  // Cached depths [0, bytecode_checked) hold no moved interpreter frame; none at all from
  // bytecode_moved up. Candidates come outermost-bound (match only falls), so each depth is read
  // at most once.
  int bytecode_checked = 0, bytecode_moved = kMaxFrames, interpreter_next = 0;
  const uint64_t* const exit_slot = t_js_exit_slot;
  if (exit_slot == nullptr || g_native_frames) exit_after = 0;
  // Where the walk ends without --native: the outermost frame through which C++ entered
  // JavaScript (0, never a frame, while none is on this stack). Only C++ lies outwards of it
  // (node::Start, or a worker's thread start), never stored; ~8 records that every walk checked.
  const uint64_t* const entry_slot = t_js_entry_slot;
  const uint64_t entry_frame = exit_after != 0 && entry_slot != nullptr ? *entry_slot : 0;
  if (exit_after == 1 && match >= 1) {
    const int reused_frames = repeated_js_call(state, frame, low, high, entry, entry_size, *exit_slot, entry_frame, match - 1);
    if (reused_frames != 0) {
      pcs[0] = state->walk_records[0].return_pc;
      *reused = reused_frames;
      return 1;
    }
  }
  // A chain that breaks below the thread's innermost exit frame was broken by code without frame
  // pointers that uses rbp as it likes (the dynamic loader running a library's constructors for a
  // require(), a native addon built without them): what called that code is still there, from the
  // exit frame out. The walk takes it up there, once, rather than lose every JavaScript frame.
  // Read only when the chain breaks, which a walk through code with frame pointers never does.
  bool resumed = false;
  uint64_t walked_to = low;  // the last frame recorded
  auto resume_at_exit_frame = [&]() -> uint64_t {
    if (resumed || exit_slot == nullptr) return 0;
    resumed = true;
    const uint64_t exit_frame = *exit_slot;
    return exit_frame > walked_to && is_frame_address(exit_frame, low, high) ? exit_frame : 0;
  };
  while (count < kMaxFrames) {
    if (frame == entry_frame) break;
    if (!is_frame_address(frame, low, high)) {
      if ((frame = resume_at_exit_frame()) != 0) continue;
      break;
    }
    const uint64_t* slots = reinterpret_cast<const uint64_t*>(frame);
    uint64_t next = slots[0];
    uint64_t pc = slots[1];
    if (!is_return_address(pc, stack_low, high)) {
      if ((frame = resume_at_exit_frame()) != 0) continue;
      break;
    }
    // Cached frames are outermost first, so their addresses fall as the index rises.
    while (match >= 0 && state->cache_frames[match] < frame) match--;
    if (match >= 0 && match < bytecode_moved && state->cache_frames[match] == frame &&
        state->cache_records[match].return_pc == pc && state->cache_records[match].saved_fp == next &&
        count + match + 1 <= kMaxFrames) {
      if (match + 1 > bytecode_checked) {
        bytecode_moved = first_moved_bytecode(state, &interpreter_next, bytecode_checked, match + 1);
        bytecode_checked = bytecode_moved;
        if (bytecode_moved == match + 1) bytecode_moved = kMaxFrames;
      }
      if (match < bytecode_moved) {
        const int changed = changed_outer_record(state, match, next);
        if (changed < 0) {
          *reused = match + 1;
          return count;
        }
        // Every stop above `changed` would find it changed again: look for one below it only.
        if (changed < match) match = changed;
      }
    }
    bool interpreted;
    state->walk_frames[count] = frame;
    state->walk_records[count] = {next, pc};
    pcs[count] = effective_pc(pc, next, low, high, entry, entry_size, &interpreted, &state->walk_interpreter_frames[count]);
    state->walk_interpreted[count] = interpreted;
    count++;
    walked_to = frame;
    if (next <= frame) {
      if ((frame = resume_at_exit_frame()) != 0) continue;
      break;
    }
    if (count == exit_after) {
      const uint64_t exit_frame = *exit_slot;
      if (jumps_to_exit_frame(exit_frame, next, high)) next = exit_frame;
    }
    frame = next;
  }
  return count;
}

// Why interning gave up on a stack.
enum class InternAbort { kNone, kStale, kStopped };

// Where the thread caches the edge of path hash `path` (stack_trie.h): its child is the answer if
// its pc and parent match.
inline ThreadState::Edge& cached_edge(ThreadState* state, uint64_t path) {
  return state->edge_cache[(path >> 20) & (ThreadState::kEdgeCacheSize - 1)];
}

// Whether a cached edge is the one from `node` for `pc` (child 0: an empty entry).
inline bool is_edge(const ThreadState::Edge& edge, uint32_t node, uint64_t pc) {
  return edge.child != 0 && edge.pc == pc && edge.parent == node;
}

// The child of `node` for `pc` from the shared trie (the thread's cached edge missed), recorded in
// `edge`; `hash` is the child's path hash. Takes g_lock; if the trie was reset since this stack's
// interning began (its parent ids are from before), *abort is kStale and the caller starts again.
// Once tracing is off no node is created (kStopped): the native pcs are being symbolized, and a
// restart is about to renumber the trie.
inline uint32_t shared_child(ThreadState::Edge& edge, uint32_t node, uint64_t pc, uint64_t hash, LazyLock& locker, uint32_t epoch,
                             InternAbort* abort) {
  locker.need();
  if (__builtin_expect(g_trie_epoch.load(std::memory_order_relaxed) != epoch, 0)) {
    *abort = InternAbort::kStale;
    return 0;
  }
  if (__builtin_expect(!g_tracing, 0)) {
    *abort = InternAbort::kStopped;
    return 0;
  }
  bool created;
  uint32_t child = g_trie->child(node, g_code->key(pc), hash, &created);
  edge = {pc, node, child};
  if (created) {
    // The code a reader names this pc with goes first. No code object covers a pc in a loaded
    // object unless builtins are reported (--native): the search for one is skipped then, and
    // most new nodes without --native end in such a pc (the allocator's caller).
    const bool native = g_modules->contains(pc);
    const bool named = native && !g_native_frames ? false : write_code_of_locked(pc);
    SharedStack* record = reinterpret_cast<SharedStack*>(g_log.append(next_seq(), kSharedStack, sizeof(SharedStack)));
    *record = {child, node, pc};
    if (native) {
      g_native_pcs->insert(pc, g_modules->module_count());
    } else if (!named) {
      if (g_unnamed_pc_count < kMaxUnnamedPcs) {
        g_unnamed_pc_tids[g_unnamed_pc_count] = current_tid();
        g_unnamed_pc_ms[g_unnamed_pc_count] = static_cast<uint32_t>(monotonic_ns() / 1000000);
        g_unnamed_pcs[g_unnamed_pc_count++] = pc;
      }
      else g_unnamed_pcs_overflowed = true;
    }
  }
  return child;
}

// How many frames from a missed edge on have their shared-trie slots prefetched at once: 12 beat
// 32 on tsc --native (13 interleaved rounds, 763 → 747 ms), whose misses then queued behind each other.
constexpr int kPrefetchAhead = 12;

// Whether pc lies in a loaded object (a native frame), through the thread's verdict cache;
// `version` is the module map's, read before this interning began.
inline bool is_native_pc(ThreadState* state, uint64_t pc, uint64_t version) {
  if (__builtin_expect(state->verdicts_version != version, 0)) {
    memset(state->verdicts, 0, sizeof(state->verdicts));
    state->verdicts_version = version;
  }
  ThreadState::NativeVerdict& verdict = state->verdicts[((pc >> 4) ^ (pc >> 12)) & (ThreadState::kVerdictCacheSize - 1)];
  if (verdict.pc == pc) return verdict.native != 0;
  const bool native = g_modules->contains(pc);
  verdict = {pc, native};
  return native;
}

// One attempt at interning; *abort says why it gave up, if it did.
uint32_t intern_stack_once(ThreadState* state, const uint64_t* pcs, int count, int reused, LazyLock& locker, uint32_t epoch,
                           InternAbort* abort) {
  uint32_t generation = g_trie_generation.load(std::memory_order_acquire);
  // The caches hold node ids of one epoch and keys of one generation: either change empties them
  // (the cached frames and pcs stay right, only their nodes must be looked up again).
  if (state->cache_generation != generation || state->cache_epoch != epoch) {
    state->cache_depth = 0;
    memset(state->edge_cache, 0, sizeof(state->edge_cache));
    state->cache_generation = generation;
    state->cache_epoch = epoch;
  }
  // The walk's common case (repeated_js_call): one walked native frame below all but the innermost
  // cached one. What the general code below does for it, without its loops.
  if (count == 1 && reused >= 1 && reused == state->cache_depth - 1 && !g_native_frames && !state->walk_interpreted[0] &&
      (state->cache_interpreter_count == 0 || state->cache_interpreter_depths[state->cache_interpreter_count - 1] < reused)) {
    const uint64_t pc = pcs[0];
    if (is_native_pc(state, pc, g_modules->version())) {
      state->cache_pcs[reused] = pc;
      state->cache_frames[reused] = state->walk_frames[0];
      state->cache_records[reused] = state->walk_records[0];
      state->cache_interpreter_entry = g_interpreter_entry_start;
      // Not stored itself: its depth keeps its parent's node and hash; it is appended after them.
      const uint32_t node = state->cache_nodes[reused - 1];
      const uint64_t hash = state->cache_hashes[reused - 1];
      state->cache_nodes[reused] = node;
      state->cache_hashes[reused] = hash;
      const uint64_t innermost_hash = StackTrie::path_hash(hash, pc);
      ThreadState::Edge& edge = cached_edge(state, innermost_hash);
      if (is_edge(edge, node, pc)) return edge.child;
      return shared_child(edge, node, pc, innermost_hash, locker, epoch, abort);
    }
  }
  // The stack, outermost first: the `reused` outermost cached pcs, then the walked ones (pcs is
  // innermost first). `common` cached depths keep their nodes: the reused ones (none when the cache
  // was just emptied), then the walked ones whose pcs are the cached ones.
  const int total = reused + count;
  const int limit = total < state->cache_depth ? total : state->cache_depth;
  int common = state->cache_depth >= reused ? reused : limit;
  while (common < limit && state->cache_pcs[common] == pcs[total - 1 - common]) common++;
  // The walked frames replace the cached ones below the reused part, even where the pcs agree;
  // so do their interpreter frames. From here on state->cache_pcs is the whole stack.
  // (From the innermost end: the reused part is most of the stack.)
  int interpreter_count = state->cache_interpreter_count;
  while (interpreter_count > 0 && state->cache_interpreter_depths[interpreter_count - 1] >= reused) interpreter_count--;
  for (int depth = reused; depth < total; depth++) {
    int walked = total - 1 - depth;
    state->cache_pcs[depth] = pcs[walked];
    state->cache_frames[depth] = state->walk_frames[walked];
    state->cache_records[depth] = state->walk_records[walked];
    if (state->walk_interpreted[walked]) {
      const ThreadState::InterpreterFrame& read = state->walk_interpreter_frames[walked];
      state->cache_interpreter_slot_addresses[interpreter_count] = read.slots_address;
      state->cache_interpreter_slots[interpreter_count] = read.slots;
      state->cache_interpreter_depths[interpreter_count++] = depth;
    }
  }
  state->cache_interpreter_count = interpreter_count;
  state->cache_interpreter_entry = g_interpreter_entry_start;
  uint32_t node = common > 0 ? state->cache_nodes[common - 1] : 0;
  const uint64_t modules_version = g_modules->version();
  const bool native_frames = g_native_frames;
  // Without --native, the innermost frame is stored after the JavaScript ones if it is native.
  const bool innermost_appended = !native_frames && total > 0 && is_native_pc(state, state->cache_pcs[total - 1], modules_version);
  // First the path hash of every frame below the common part (a frame that is not stored keeps
  // its parent's): it places the frame's edge both in the thread's cache and in the shared trie,
  // so both can be brought into cache before the lookups, which each need the id the one before
  // returned, run one after another.
  bool stored[kMaxFrames];
  uint64_t hash = common > 0 ? state->cache_hashes[common - 1] : StackTrie::kRootHash;
  for (int depth = common; depth < total; depth++) {
    const uint64_t pc = state->cache_pcs[depth];
    stored[depth] = native_frames || !is_native_pc(state, pc, modules_version);
    if (stored[depth]) {
      hash = StackTrie::path_hash(hash, pc);
      __builtin_prefetch(&cached_edge(state, hash));
    }
    state->cache_hashes[depth] = hash;
  }
  const uint64_t innermost_hash = innermost_appended ? StackTrie::path_hash(hash, state->cache_pcs[total - 1]) : 0;
  // Looked up after every other frame, but known now: the appended frame changes with nearly
  // every event (a different allocation site below the same JavaScript), and its cached edge was
  // a miss waited for at the end (18% of interning's samples on tsc).
  if (innermost_appended) __builtin_prefetch(&cached_edge(state, innermost_hash));
  // The first edge the thread has not cached is likely followed by more (a new stack): the shared
  // trie's slots of the frames from there on are prefetched together, so that their misses
  // overlap. [.., prefetched_to) are done.
  int prefetched_to = common;
  for (int depth = common; depth < total; depth++) {
    const uint64_t pc = state->cache_pcs[depth];
    if (stored[depth]) {
      const uint64_t path = state->cache_hashes[depth];
      ThreadState::Edge& edge = cached_edge(state, path);
      if (is_edge(edge, node, pc)) {
        node = edge.child;
      } else {
        if (depth >= prefetched_to) {
          const int end = total - depth > kPrefetchAhead ? depth + kPrefetchAhead : total;
          for (int ahead = depth; ahead < end; ahead++) {
            if (stored[ahead]) g_trie->prefetch(state->cache_hashes[ahead]);
          }
          if (end == total && innermost_appended) g_trie->prefetch(innermost_hash);
          prefetched_to = end;
        }
        node = shared_child(edge, node, pc, path, locker, epoch, abort);
        if (*abort != InternAbort::kNone) {
          state->cache_depth = 0;
          return 0;
        }
      }
    }
    state->cache_nodes[depth] = node;
  }
  state->cache_depth = total;
  if (innermost_appended) {
    const uint64_t pc = state->cache_pcs[total - 1];
    ThreadState::Edge& edge = cached_edge(state, innermost_hash);
    if (is_edge(edge, node, pc)) return edge.child;
    node = shared_child(edge, node, pc, innermost_hash, locker, epoch, abort);
    if (*abort != InternAbort::kNone) return 0;
  }
  return node;
}

// Interns the walked stack (innermost first) and returns its trie node; *epoch is the trie epoch
// the id belongs to. Without --native only the JavaScript frames (pcs outside every loaded object
// are JIT code) and the innermost native frame (the caller of the allocator) are stored.
uint32_t intern_stack(ThreadState* state, const uint64_t* pcs, int count, int reused, LazyLock& locker, uint32_t* epoch) {
  while (true) {
    *epoch = g_trie_epoch.load(std::memory_order_acquire);
    InternAbort abort = InternAbort::kNone;
    uint32_t node = intern_stack_once(state, pcs, count, reused, locker, *epoch, &abort);
    if (abort != InternAbort::kStale) return node;
    // The lock is held now, so no reset can come between this attempt and its end.
  }
}

struct CapturedStack {
  ThreadState* state;
  int count;   // walked frames, innermost first in pcs
  int reused;  // outermost frames of the thread's cached stack that complete them
  uint64_t pcs[kMaxFrames];
};

// `exit_after`: how many frames to walk before the jump to the exit frame (walk_stack).
inline void capture_stack(CapturedStack* stack, int exit_after = 1) {
  stack->state = thread_state();
  stack->count = walk_stack(stack->state, stack->pcs, &stack->reused, exit_after);
}

// The stack id of a captured stack, and the epoch its ids belong to.
inline uint32_t stack_id_of(CapturedStack* stack, bool lock_held, uint32_t* epoch) {
  if (stack->state == nullptr) {
    *epoch = g_trie_epoch.load(std::memory_order_acquire);
    return 0;
  }
  LazyLock locker(lock_held);
  return intern_stack(stack->state, stack->pcs, stack->count, stack->reused, locker, epoch);
}

// Code that allocates only because memview listens to V8's code events: V8's CodeEventLogger turns
// every new code object's name into a C string for the handler, and frees it when the handler
// returns (tsc: 12,500 allocations, the 5% by which its capture's calls exceeded heaptrack's). An
// allocation with such a frame among the innermost few is set aside like memview's own set-up.
// The C string comes from V8's NewArray, `new (std::nothrow) char[]`: only operator new[]'s
// allocations are looked at (the check was 5% of the hook's instructions on 200,000 Buffers,
// whose allocations are calloc's and operator new's). The addon reports the functions (their start and size in node's symbol table) before the
// handler is installed; readers see the matching frees as frees of blocks they never saw.
constexpr int kMaxInducedCode = 8;
constexpr int kInducedFrameDepth = 4;  // the logger's frame is the third: new[], ToCString twice
struct CodeRange {
  uint64_t start;
  uint64_t end;
};
CodeRange g_induced_code[kMaxInducedCode];
// Every range lies in [g_induced_low, g_induced_low + span): one comparison turns nearly every
// frame away. The span is stored last (release) and is 0 until the ranges are known.
uint64_t g_induced_low = 0;
uint64_t g_induced_span = 0;
int g_induced_count = 0;

inline bool in_induced_code(uint64_t pc, uint64_t low, uint64_t span) {
  if (__builtin_expect(pc - 1 - low >= span, 1)) return false;
  for (int i = 0; i < g_induced_count; i++) {
    if (pc - 1 >= g_induced_code[i].start && pc - 1 < g_induced_code[i].end) return true;
  }
  return false;
}

// Whether one of the stack's innermost frames is in such code: the walked frames first, then the
// cached ones that complete them.
inline bool allocated_for_memview(const CapturedStack& stack) {
  const uint64_t span = __atomic_load_n(&g_induced_span, __ATOMIC_ACQUIRE);
  if (__builtin_expect(span == 0 || stack.state == nullptr, 1)) return false;
  const uint64_t low = g_induced_low;
  const int walked = stack.count < kInducedFrameDepth ? stack.count : kInducedFrameDepth;
  for (int i = 0; i < walked; i++) {
    if (in_induced_code(stack.pcs[i], low, span)) return true;
  }
  for (int i = walked, cached = stack.reused - 1; i < kInducedFrameDepth && cached >= 0; i++, cached--) {
    if (in_induced_code(stack.state->cache_pcs[cached], low, span)) return true;
  }
  return false;
}

// ---- publishing events ------------------------------------------------------------------------

// The ring is full: the writer is behind. Wakes it and sleeps until it has made room (a futex, so
// neither side spins: on a machine with few cores the spinning would take the writer's time).
// False when the writer has stopped.
__attribute__((noinline)) bool wait_for_room(ThreadRing* ring, uint64_t head) {
  g_room_waiters.fetch_add(1, std::memory_order_acq_rel);
  bool open = true;
  while (head - ring->tail.load(std::memory_order_acquire) >= ThreadRing::kCapacity) {
    if (!g_rings_open.load(std::memory_order_acquire)) {
      open = false;
      break;
    }
    uint32_t seen = g_room_made.load(std::memory_order_acquire);
    wake_writer();
    if (head - ring->tail.load(std::memory_order_acquire) < ThreadRing::kCapacity) break;
    futex_wait(&g_room_made, seen, 1000000);
  }
  g_room_waiters.fetch_sub(1, std::memory_order_acq_rel);
  return open;
}

// Numbers the event and hands it to the writer through the thread's ring.
// An event's number, taken before what it records happens (publish_numbered, or drop_numbered if
// it did not happen): until then the writer merges nothing numbered after it.
inline uint64_t number_event(ThreadRing* ring) {
  ring->pending.store(ring->last_seq + 1, std::memory_order_release);
  return next_seq();  // the increment's release orders the announcement before the number
}

inline void drop_numbered(ThreadRing* ring, uint64_t seq) {
  ring->last_seq = seq;
  ring->pending.store(kNothingPending, std::memory_order_release);
}

inline void publish_numbered(ThreadState* state, uint64_t seq, uint8_t op, uint64_t address, uint64_t size, uint32_t stack,
                             uint32_t epoch) {
  ThreadRing* ring = state->ring;
  // A trie reset numbered before this event renumbered the nodes this stack was interned as.
  if (__builtin_expect(g_trie_epoch.load(std::memory_order_relaxed) != epoch, 0)) stack = 0;
  uint64_t head = ring->head.load(std::memory_order_relaxed);
  if (__builtin_expect(head - ring->tail.load(std::memory_order_acquire) >= ThreadRing::kCapacity, 0) &&
      !wait_for_room(ring, head)) {
    ring->last_seq = seq;
    ring->pending.store(kNothingPending, std::memory_order_release);
    return;
  }
  RawEvent& event = ring->entries[head & (ThreadRing::kCapacity - 1)];
  event.seq = seq;
  event.address = address;
  event.size_and_op = pack_size_and_op(size, op);
  event.stack = stack;
  event.tid = ring->tid;
  ring->head.store(head + 1, std::memory_order_release);
  ring->last_seq = seq;
  ring->pending.store(kNothingPending, std::memory_order_release);
}

inline void publish(ThreadState* state, uint8_t op, uint64_t address, uint64_t size, uint32_t stack, uint32_t epoch) {
  publish_numbered(state, number_event(state->ring), op, address, size, stack, epoch);
}

// The same for a thread without a ring (its state is gone: it is exiting). Caller holds g_lock.
void publish_shared_locked(uint8_t op, uint64_t address, uint64_t size) {
  RawEvent* event = reinterpret_cast<RawEvent*>(g_log.append(next_seq(), kSharedEvent, sizeof(RawEvent)));
  event->seq = 0;
  event->address = address;
  event->size_and_op = pack_size_and_op(size, op);
  event->stack = 0;
  event->tid = current_tid();
}

uint64_t page_size() {
  static uint64_t size = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return size;
}
inline uint64_t page_floor(uint64_t address) { return address & ~(page_size() - 1); }
inline uint64_t page_ceil(uint64_t address) { return (address + page_size() - 1) & ~(page_size() - 1); }

// ---- the writer thread: merge, encode ---------------------------------------------------------

// Encoding state; only the writer thread touches it (and stop_tracing once the writer is gone).
struct Encoder {
  EventBuffer* buffer = nullptr;
  ByteCursor cursor{nullptr};
  uint8_t* limit = nullptr;
  // The chunk's address and size sections: new heap blocks' addresses and sizes, kept apart from
  // the records.
  ByteCursor addresses{nullptr};
  uint8_t* addresses_limit = nullptr;
  ByteCursor sizes{nullptr};
  uint8_t* sizes_limit = nullptr;
  uint64_t buffer_started_ns = 0;  // monotonic, for the periodic flush
  // Delta bases of the format; they restart with every chunk.
  uint64_t previous_address = 0;
  uint64_t previous_stack = 0;
  uint64_t previous_pc = 0;
  uint64_t previous_block = 0;  // chunk ordinal, as u64 two's complement
  // Per size class: the chunk ordinal of the freed block the latest reused address named.
  uint64_t previous_reused[format::kSizeClassCount] = {};
  // The chunk's thread table: slot k (1..15) holds the k-th thread named in the chunk; slot 0 is
  // any thread outside it. Each slot keeps the base of its new blocks' written addresses.
  uint32_t chunk_threads[format::kThreadSlots + 1] = {};
  uint32_t chunk_thread_count = 0;
  uint32_t current_slot = 0;  // also the record stream being written
  uint64_t previous_new_address[format::kThreadSlots + 1] = {};
  uint32_t current_tid = 0;
  // Heap blocks: every ALLOC and REALLOC numbers one, across the capture; frees name them.
  uint64_t block_count = 0;
  uint64_t chunk_first_block = 0;  // block_count when the current chunk began
  uint64_t last_time_ns = 0;  // of the latest TIME record, ns since start
  uint64_t event_count = 0;
  uint64_t emit_base = 0;  // the next sequence number to encode
  RawEvent* window = nullptr;
};

ChunkWriter g_writer;
Encoder g_encoder;
HeapBlocks* g_heap_blocks = nullptr;   // live and freed, by address
RecentBlocks* g_block_ends = nullptr;  // by the address where their allocator chunk ends
FreedLists* g_freed_lists = nullptr;   // per size class, in the order they were freed

void start_buffer() {
  EventBuffer* buffer = g_writer.take_free_buffer();
  buffer->first_time_ns = g_encoder.last_time_ns;
  buffer->first_event_index = static_cast<uint32_t>(g_encoder.event_count);
  buffer->first_block_ordinal = g_encoder.block_count;
  g_encoder.buffer = buffer;
  g_encoder.cursor.position = buffer->data;
  g_encoder.limit = buffer->data + kEventBufferSize;
  g_encoder.addresses.position = buffer->addresses;
  g_encoder.addresses_limit = buffer->addresses + kEventBufferSize;
  g_encoder.sizes.position = buffer->sizes;
  g_encoder.sizes_limit = buffer->sizes + kEventBufferSize;
  g_encoder.buffer_started_ns = monotonic_ns();
  g_encoder.previous_address = 0;
  g_encoder.previous_stack = 0;
  g_encoder.previous_pc = 0;
  g_encoder.previous_block = 0;
  memset(g_encoder.previous_reused, 0, sizeof(g_encoder.previous_reused));
  memset(g_encoder.previous_new_address, 0, sizeof(g_encoder.previous_new_address));
  g_encoder.chunk_thread_count = 0;
  g_encoder.current_slot = 0;
  g_encoder.chunk_first_block = g_encoder.block_count;
  g_encoder.current_tid = 0;
  g_encoder.cursor.byte(format::type_byte(format::kTime, 0));
  g_encoder.cursor.varint(g_encoder.last_time_ns);
}

// Ends the current record stream's run where the records are now (docs/capture-format.md, "Chunk").
inline void end_run() {
  EventBuffer* buffer = g_encoder.buffer;
  buffer->runs[buffer->runs_used++] =
      RecordRun{static_cast<uint32_t>(g_encoder.cursor.position - buffer->data), g_encoder.current_slot};
}

void rotate_buffer() {
  end_run();
  EventBuffer* full = g_encoder.buffer;
  full->used = static_cast<size_t>(g_encoder.cursor.position - full->data);
  full->addresses_used = static_cast<size_t>(g_encoder.addresses.position - full->addresses);
  full->sizes_used = static_cast<size_t>(g_encoder.sizes.position - full->sizes);
  g_writer.submit(full);
  start_buffer();
}

// Room for `bytes` of records, one new block's address and size, and a thread switch.
inline void reserve(size_t bytes) {
  if (__builtin_expect(g_encoder.cursor.position + bytes > g_encoder.limit ||
                           g_encoder.addresses.position + 10 > g_encoder.addresses_limit ||
                           g_encoder.sizes.position + 10 > g_encoder.sizes_limit ||
                           g_encoder.buffer->runs_used + 2 > kMaxRecordRuns, 0)) {
    rotate_buffer();
  }
}

// A thread switch. The records of each thread slot go to a stream of their own, so a switch to a
// thread already in the chunk's table writes no record, only the end of a run (readers put the
// THREAD record naming the slot back; the storm switches threads millions of times). A thread new
// to the chunk is named by its id, as the first record of its stream; threads past the table's 15
// slots share stream 0 and are named by id at every switch.
inline void switch_thread(uint32_t tid) {
  if (g_encoder.current_tid == tid) return;
  g_encoder.current_tid = tid;
  for (uint32_t slot = 1; slot <= g_encoder.chunk_thread_count; slot++) {
    if (g_encoder.chunk_threads[slot] == tid) {
      end_run();
      g_encoder.current_slot = slot;
      return;
    }
  }
  uint32_t slot = 0;
  if (g_encoder.chunk_thread_count < format::kThreadSlots) {
    slot = ++g_encoder.chunk_thread_count;
    g_encoder.chunk_threads[slot] = tid;
  }
  if (slot != g_encoder.current_slot) end_run();
  g_encoder.current_slot = slot;
  g_encoder.cursor.byte(format::type_byte(format::kThread, 0));
  g_encoder.cursor.varint(tid);
}

inline void write_address(uint64_t address) {
  g_encoder.cursor.zigzag(static_cast<int64_t>(address - g_encoder.previous_address));
  g_encoder.previous_address = address;
}

inline int varint_length(uint64_t value) { return (64 - __builtin_clzll(value | 1) + 6) / 7; }

inline void write_stack_id(uint32_t stack) {
  g_encoder.cursor.zigzag(static_cast<int64_t>(stack - g_encoder.previous_stack));
  g_encoder.previous_stack = stack;
}

inline void write_block(uint64_t ordinal) {
  uint64_t chunk_ordinal = ordinal - g_encoder.chunk_first_block;
  g_encoder.cursor.zigzag(static_cast<int64_t>(chunk_ordinal - g_encoder.previous_block));
  g_encoder.previous_block = chunk_ordinal;
}

// A new block at `address`; returns the block that held the address before it, or kAbsent. A block
// the table still holds live there was freed where the collector could not see it: its FREE comes
// first, so that readers never hold two blocks at one address.
inline uint64_t new_block(uint64_t address) {
  uint64_t previous;
  uint64_t missed = g_heap_blocks->allocated(address, g_encoder.block_count++, &previous);
  if (__builtin_expect(missed != HeapBlocks::kAbsent, 0)) {
    g_encoder.cursor.byte(format::type_byte(format::kFree, format::kFreeKind));
    write_block(missed);  // encode_event reserved room for both records
    g_freed_lists->freed(missed);
  }
  return previous;
}

// The address of the block new_block just created, in the chunk's address section: `previous`, the
// freed block that held it before, by its rank among the latest freed blocks of its size class or
// else by its ordinal, when that one is recent enough; else the block whose allocator chunk ends
// there, when recent enough; else the address itself (docs/capture-format.md, "Addresses of new
// blocks").
inline void write_new_address(uint64_t address, uint64_t size, uint64_t previous) {
  const uint64_t ordinal = g_encoder.block_count - 1;
  const uint32_t size_class = format::size_class(size);
  g_freed_lists->created(ordinal, size_class);
  g_block_ends->remember(address + format::chunk_footprint(size), ordinal);
  // Fresh memory is mostly carved right after a block allocated a little earlier (the top of the
  // heap, the rest of a free chunk that was split): that block, by how far back it is.
  auto after_block = [&]() {
    const uint64_t before = g_block_ends->recall(address);
    return before != RecentBlocks::kAbsent && before < ordinal && ordinal - before <= format::kReuseWindow
               ? (ordinal - before - 1) << 2 | 2
               : 0;
  };
  if (previous != HeapBlocks::kAbsent && ordinal - previous <= format::kReuseWindow) {
    // Allocators hand out their freed memory last in, first out per size: the rank of the block
    // among the latest freed blocks of its class stays small and repeats, where its ordinal jumps
    // by whatever was freed in between (the storm's address sections 2.51 -> 2.20 MB, workers'
    // 192 -> 166 kB, buffers' 420 -> 390 kB, re-encoding captures offline).
    const int rank = g_freed_lists->take_ranked(previous, size_class);
    if (rank != FreedLists::kNotRanked) {
      g_encoder.addresses.byte(static_cast<uint8_t>(rank << 2 | 3));
      return;
    }
    uint64_t& base = g_encoder.previous_reused[size_class];
    const uint64_t chunk_ordinal = previous - g_encoder.chunk_first_block;
    const int64_t delta = static_cast<int64_t>(chunk_ordinal - base);
    const uint64_t reused = ((static_cast<uint64_t>(delta) << 1) ^ static_cast<uint64_t>(delta >> 63)) << 2 | 1;
    // A far jump in the class's reuse order (a block freed long ago, whose memory the allocator
    // merged with its neighbours and splits again) is often also memory right after a block just
    // made: that name is taken when its varint is shorter. Only then: the reuse form also moves
    // the class's base, and a chain of small steps from it is what compresses. (Re-encoding
    // captures both ways: the storm's address sections 3.24 -> 2.67 MB against taking the after
    // form whenever its value is smaller, buffers' 474 -> 460 kB, workers' 224 -> 217 kB.)
    if (reused >= 128) {
      const uint64_t after = after_block();
      if (after != 0 && varint_length(after) < varint_length(reused)) {
        g_encoder.addresses.varint(after);
        return;
      }
    }
    g_freed_lists->taken(previous);
    base = chunk_ordinal;
    g_encoder.addresses.varint(reused);
    return;
  }
  if (const uint64_t after = after_block()) {
    g_encoder.addresses.varint(after);
    return;
  }
  // Each thread carves new memory from its own arena: its addresses follow on from its last one.
  uint64_t& base = g_encoder.previous_new_address[g_encoder.current_slot];
  const int64_t delta = static_cast<int64_t>(address - base);
  base = address;
  g_encoder.addresses.varint(((static_cast<uint64_t>(delta) << 1) ^ static_cast<uint64_t>(delta >> 63)) << 2);
}

// The FREE (deallocator `kind`) of block `ordinal`, which the table has already marked freed, or of
// the block at `address` by its address when the table held none live there.
inline void write_removed(uint8_t kind, uint64_t ordinal, uint64_t address) {
  if (__builtin_expect(ordinal == HeapBlocks::kAbsent, 0)) {
    g_encoder.cursor.byte(format::type_byte(format::kFree, kind | format::kUnknownBlock));
    write_address(address);
    return;
  }
  g_encoder.cursor.byte(format::type_byte(format::kFree, kind));
  write_block(ordinal);
  g_freed_lists->freed(ordinal);
}

inline void write_free(uint8_t kind, uint64_t address) {
  write_removed(kind, g_heap_blocks->freed(address), address);
}

// Encodes events[0] (and events[1] when it completes a realloc); returns how many it used.
inline int encode_event(const RawEvent* events, bool next_is_known) {
  const RawEvent& event = events[0];
  reserve(64);
  switch_thread(event.tid);
  g_encoder.event_count++;
  uint8_t op = event.op();
  if (op == kOpReallocFree) {
    // Both halves of a realloc of a known block, with nothing in between: one REALLOC record.
    // Otherwise (another thread's event fell between the free and the allocation, or the old
    // block is unknown) they are written apart.
    const RawEvent& next = events[1];
    if (next_is_known && next.seq == event.seq + 1 && next.tid == event.tid &&
        next.op() == format::type_byte(format::kAlloc, format::kReallocKind)) {
      uint64_t old_block = g_heap_blocks->freed(event.address);
      if (old_block != HeapBlocks::kAbsent) {
        const uint64_t previous = new_block(next.address);
        // After new_block's FREE of a block it found live there, as readers take the records.
        g_freed_lists->freed(old_block);
        g_encoder.cursor.byte(format::type_byte(format::kRealloc, 0));
        write_block(old_block);
        write_new_address(next.address, next.size(), previous);
        g_encoder.sizes.varint(next.size());
        write_stack_id(next.stack);
        return 2;
      }
      write_removed(format::kFreeKind, old_block, event.address);
      return 1;
    }
    write_free(format::kFreeKind, event.address);
    return 1;
  }
  if ((op & 0x0f) == format::kAlloc) {
    const uint64_t previous = new_block(event.address);
    g_encoder.cursor.byte(op);
    write_new_address(event.address, event.size(), previous);
    g_encoder.sizes.varint(event.size());
    write_stack_id(event.stack);
  } else {
    write_free(op >> 4, event.address);
  }
  return 1;
}

void encode_shared(const SharedRecord* record) {
  const uint8_t* payload = record->payload();
  switch (record->tag) {
    case kSharedBytes:
      reserve(record->length + 16);
      g_encoder.cursor.bytes(payload, record->length);
      break;
    case kSharedStack: {
      const SharedStack* stack = reinterpret_cast<const SharedStack*>(payload);
      reserve(32);
      g_encoder.cursor.byte(format::type_byte(format::kStack, 0));
      g_encoder.cursor.varint(stack->child - stack->parent);
      g_encoder.cursor.zigzag(static_cast<int64_t>(stack->pc - g_encoder.previous_pc));
      g_encoder.previous_pc = stack->pc;
      break;
    }
    case kSharedMap:
    case kSharedUnmap: {
      const SharedMapping* mapping = reinterpret_cast<const SharedMapping*>(payload);
      reserve(48);
      switch_thread(mapping->tid);
      bool map = record->tag == kSharedMap;
      if (map) g_encoder.event_count++;
      g_encoder.cursor.byte(format::type_byte(map ? format::kMap : format::kUnmap, mapping->cause));
      write_address(mapping->start);
      g_encoder.cursor.varint(mapping->end - mapping->start);
      if (map) write_stack_id(mapping->stack);
      break;
    }
    case kSharedEvent:
      encode_event(reinterpret_cast<const RawEvent*>(payload), false);
      break;
    case kSharedTime: {
      const SharedTime* time = reinterpret_cast<const SharedTime*>(payload);
      reserve(32);
      g_encoder.last_time_ns = time->ns_since_start;
      g_encoder.cursor.byte(format::type_byte(format::kTime, 0));
      g_encoder.cursor.varint(time->ns_since_start);
      if (time->rss_bytes) {
        g_encoder.cursor.byte(format::type_byte(format::kRss, 0));
        g_encoder.cursor.varint(time->rss_bytes);
      }
      break;
    }
  }
}

// One merge: every event and shared record numbered below a bound known to be complete (no thread
// is still publishing a smaller number), at most kWindow of them, encoded in order. Returns how
// many sequence numbers it covered. `past_unfinished`: up to the last number taken, skipping the
// events threads have numbered but not published (a dying process's last merge).
uint64_t merge_pass(bool past_unfinished = false) {
  const uint64_t base = g_encoder.emit_base;
  uint64_t end = g_seq.load(std::memory_order_acquire);
  ThreadRing* rings = g_rings.load(std::memory_order_acquire);
  for (ThreadRing* ring = rings; ring != nullptr && !past_unfinished; ring = ring->next) {
    uint64_t pending = ring->pending.load(std::memory_order_acquire);
    if (pending < end) end = pending;
  }
  if (end > base + kWindow) end = base + kWindow;
  if (end <= base) {
    // A thread may be waiting for room with an announcement from before this capture began: let
    // its ring drop what predates the capture, or it could wait forever.
    for (ThreadRing* ring = rings; ring != nullptr; ring = ring->next) {
      uint64_t tail = ring->tail.load(std::memory_order_relaxed);
      uint64_t head = ring->head.load(std::memory_order_acquire);
      while (tail < head && ring->entries[tail & (ThreadRing::kCapacity - 1)].seq < base) tail++;
      ring->tail.store(tail, std::memory_order_release);
    }
    return 0;
  }
  RawEvent* window = g_encoder.window;
  for (ThreadRing* ring = rings; ring != nullptr; ring = ring->next) {
    uint64_t tail = ring->tail.load(std::memory_order_relaxed);
    uint64_t head = ring->head.load(std::memory_order_acquire);
    while (tail < head) {
      const RawEvent& event = ring->entries[tail & (ThreadRing::kCapacity - 1)];
      if (event.seq >= end) break;
      if (event.seq >= base) window[event.seq - base] = event;  // older ones predate this capture
      tail++;
    }
    ring->tail.store(tail, std::memory_order_release);
    if (tail == head && ring->owner.load(std::memory_order_acquire) == ThreadRing::kExited) {
      uint32_t exited = ThreadRing::kExited;
      ring->owner.compare_exchange_strong(exited, ThreadRing::kFree, std::memory_order_acq_rel);
    }
  }
  lock();
  g_log.consume_below(end, [&](const SharedRecord* record) {
    if (record->seq < base) return;
    RawEvent& slot = window[record->seq - base];
    slot.seq = record->seq;
    slot.address = reinterpret_cast<uint64_t>(record);
    slot.size_and_op = pack_size_and_op(0, kOpSharedRecord);
  });
  unlock();
  const uint64_t count = end - base;
  // How far ahead the heap-block slots are prefetched (any slot: a shared record or a mapping
  // only loads a line it does not need).
  constexpr uint64_t kPrefetchAhead = 16;
  for (uint64_t i = 0; i < count;) {
    if (i + kPrefetchAhead < count) {
      const RawEvent& ahead = window[i + kPrefetchAhead];
      g_heap_blocks->prefetch(ahead.address);
      // A new block writes where its chunk ends into a random slot of the chunk-end table, and may
      // look up the block that ends where it starts.
      if ((ahead.op() & 0x0f) == format::kAlloc) {
        g_block_ends->prefetch(ahead.address + format::chunk_footprint(ahead.size()));
        g_block_ends->prefetch(ahead.address);
      }
    }
    const RawEvent& slot = window[i];
    if (__builtin_expect(slot.seq != base + i, 0)) {  // dropped after the writer stopped
      i++;
      continue;
    }
    if (slot.op() == kOpSharedRecord) {
      encode_shared(reinterpret_cast<const SharedRecord*>(slot.address));
      i++;
    } else {
      i += static_cast<uint64_t>(encode_event(&slot, i + 1 < count));
    }
  }
  g_encoder.emit_base = end;
  lock();
  g_log.release_consumed();
  unlock();
  return count;
}

uint64_t read_rss_bytes() {
  char text[128];
  if (read_proc_text("/proc/self/statm", text, sizeof(text)) == 0) return 0;
  const char* cursor = strchr(text, ' ');
  if (!cursor) return 0;
  return strtoull(cursor + 1, nullptr, 10) * page_size();
}


bool any_pending() {
  for (ThreadRing* ring = g_rings.load(std::memory_order_acquire); ring != nullptr; ring = ring->next) {
    if (ring->pending.load(std::memory_order_acquire) != kNothingPending) return true;
  }
  return false;
}

// memview's own threads take none of the signals sent to the process: a kill then reaches one of
// the program's threads and the handlers there (memview's waits for the writer, so it must not run
// on the writer), and the program's handlers never run on memview's threads.
int start_thread_without_signals(pthread_t* thread, void* (*main)(void*), void* argument) {
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  const int error = pthread_create(thread, nullptr, main, argument);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return error;
}

uint64_t begin_finishing_as_process_dies(int signal);
void announce_capture_finished();
void write_symbols_as_run_goes(uint64_t now, uint64_t* next_ns);
void finish_before_dying(int signal);

// A reset put off while unnamed pcs wait for their isolate's listing happens once none waits any
// more: named since (the code under them came), or waited too long (kMaxUnnamedWaitMs). Naming them
// here is safe: an isolate's code reaches memview only from its listing on, and other isolates'
// code never lies at an address of its heap.
void reset_when_nothing_waits(uint64_t now) {
  const uint64_t since = g_reset_deferred_since.load(std::memory_order_relaxed);
  if (since == 0 || now - since < kDeferredResetCheckNs) return;
  lock();
  if (!g_tracing) {
    g_reset_deferred_since.store(0, std::memory_order_relaxed);
  } else if (g_reset_deferred_since.load(std::memory_order_relaxed) != 0) {
    // Threads that never list (or a steady trickle of broken frame chains) must not keep the trie
    // from its reset, nor this scan under the lock going, for ever.
    if (name_unnamed_pcs_locked(0) == 0 || now - g_reset_first_deferred >= kMaxResetDeferralNs) reset_trie_locked();
    else g_reset_deferred_since.store(now, std::memory_order_relaxed);
  }
  unlock();
}

void* writer_main(void*) {
  t_inside_memview = 1;  // nothing this thread does is the program's
  pthread_setname_np(pthread_self(), "memview-writer");
  uint64_t interval_ns = static_cast<uint64_t>(g_sample_interval_ms) * 1000000ull;
  uint64_t next_tick = monotonic_ns() + interval_ns;
  uint64_t next_symbols = monotonic_ns() + kSymbolsAfterNs;
  while (!g_writer_stop.load(std::memory_order_acquire) && g_dying_signal.load(std::memory_order_acquire) == 0) {
    uint32_t kicks = g_writer_kick.load(std::memory_order_acquire);
    uint64_t merged = merge_pass();
    if (g_room_waiters.load(std::memory_order_acquire) != 0) {
      g_room_made.fetch_add(1, std::memory_order_acq_rel);
      futex_wake_all(&g_room_made);
    }
    uint64_t now = monotonic_ns();
    if (now >= next_tick) {
      next_tick += interval_ns;
      if (next_tick < now) next_tick = now + interval_ns;
      uint64_t rss = read_rss_bytes();
      lock();
      if (g_tracing) write_sample_locked(monotonic_ns(), rss);
      unlock();
    }
    if (now - g_encoder.buffer_started_ns >= kFlushIntervalNs) rotate_buffer();
    reset_when_nothing_waits(now);
    g_writer.drain();
    if (g_writer.failure() && g_tracing) g_tracing = false;  // disk full or gone: stop, keep what was written
    // Little to do: name native pcs if enough wait (a few ms; the rings hold more than that of the
    // busiest thread's events), then sleep up to 1 ms, or until a thread with a full ring kicks.
    if (merged < kWindow / 4) {
      write_symbols_as_run_goes(now, &next_symbols);
      futex_wait(&g_writer_kick, kicks, 1000000);
    }
  }
  const int dying = g_dying_signal.load(std::memory_order_acquire);
  const uint64_t died_at = dying ? begin_finishing_as_process_dies(dying) : 0;
  // Tracing is off: let threads finish the events they were publishing, then merge to the end.
  // A dying process's signal may have stopped a thread between numbering an event and publishing
  // it (the dying thread itself, waiting in the handler): that event never comes, and waiting for
  // it held back everything numbered after it, the signal's endReason included, for a second.
  uint64_t give_up = monotonic_ns() + (dying ? 100000000ull : 1000000000ull);
  while (true) {
    merge_pass();
    g_room_made.fetch_add(1, std::memory_order_acq_rel);
    futex_wake_all(&g_room_made);
    bool done = !any_pending() && g_encoder.emit_base >= g_seq.load(std::memory_order_acquire);
    if (done) {
      merge_pass();  // shared records written by the stopping thread after the last pass
      if (g_encoder.emit_base >= g_seq.load(std::memory_order_acquire)) break;
    }
    if (monotonic_ns() > give_up) break;
    sched_yield();
  }
  if (dying) {
    while (g_encoder.emit_base < g_seq.load(std::memory_order_acquire) && merge_pass(true) != 0) {}
  }
  g_rings_open.store(false, std::memory_order_release);
  g_room_made.fetch_add(1, std::memory_order_acq_rel);
  futex_wake_all(&g_room_made);
  if (dying) {
    rotate_buffer();
    g_writer.finish(g_encoder.event_count, died_at - g_start_ns);
    g_finished_by_writer = true;
    announce_capture_finished();
    if (g_dying_signal_handed_on.load(std::memory_order_acquire)) hand_on_ending_signal(dying);
  }
  return nullptr;
}

// ---- symbols -----------------------------------------------------------------------------------

// Names the native pcs of the capture's stacks that no SYMBOL record named yet. Run by the writer
// as the program goes (write_symbols_as_run_goes) and once tracing is off for the rest. Without the
// lock while it names: loading symbol tables and line tables takes milliseconds, and threads that
// need the lock should not wait for them. Each pc is taken once, so two runs never name the same.
// Does nothing while fewer than `at_least` pcs wait; returns whether it named any.
bool write_symbols(size_t at_least = 1) {
  struct Named {
    uint64_t pc;
    std::string function;
    std::string file;
    uint32_t line;
    bool has_function;
    bool has_file;
  };
  // Sized outside the lock, as nothing under it may call the program's allocator; pcs added in
  // between wait for the next run.
  lock();
  const size_t wanted = g_native_pcs->unnamed();
  unlock();
  if (wanted < at_least) return false;
  std::vector<uint64_t> pcs(wanted);
  std::vector<uint32_t> modules_loaded(wanted);
  lock();
  const size_t taken = g_native_pcs->take_unnamed(pcs.data(), modules_loaded.data(), wanted);
  unlock();
  std::vector<Named> named;
  symbolize_native_pcs(pcs.data(), modules_loaded.data(), taken, *g_modules,
                       [&](uint64_t pc, const char* function, const char* file, uint32_t line) {
                         named.push_back({pc, function ? function : "", file ? file : "", line, function != nullptr, file != nullptr});
                       });
  lock();
  for (const Named& symbol : named) {
    uint32_t name_id = symbol.has_function ? intern_string_locked(symbol.function.c_str()) : 0;
    uint32_t file_id = symbol.has_file ? intern_string_locked(symbol.file.c_str()) : 0;
    ByteCursor out = begin_bytes_locked();
    out.byte(format::type_byte(format::kSymbol, 0));
    out.varint(symbol.pc);
    out.varint(name_id);
    out.varint(file_id);
    out.varint(symbol.line);
    finish_bytes_locked(out);
  }
  unlock();
  return true;
}

// The writer's naming of native pcs while the program runs, when it has little else to do (each
// run loads the symbol tables of the objects it names pcs in, so it waits for a batch, or names
// what waits once a batch is kSymbolsEveryNs overdue: the few pcs a program reaches after its
// start-up would otherwise wait for the end). What the end of the run has left to name then is
// mostly what the program reached late: stopping costs less, and a process that is killed keeps
// the names of the pcs named before. (g_tracing is read without the lock, as elsewhere in the
// writer's loop: a run just after the end names nothing twice.)
void write_symbols_as_run_goes(uint64_t now, uint64_t* next_ns) {
  if (now < *next_ns || !g_tracing) return;
  const size_t at_least = now - *next_ns >= kSymbolsEveryNs ? 1 : kSymbolsAtLeast;
  if (write_symbols(at_least)) *next_ns = monotonic_ns() + kSymbolsEveryNs;
}

// ---- start / stop / fork ----------------------------------------------------------------------

void find_own_text() {
  uint64_t start, end;
  if (g_modules->segment_of(reinterpret_cast<uint64_t>(&walk_stack), &start, &end)) {
    g_own_text_start = start;
    g_own_text_end = end;
  }
}

// The command line as a JSON array of strings, in at most `size` bytes (a string keeps
// kMaxStringLength of them): the leading arguments that fit, and a last "..." when some do not.
// Built on the stack: this runs under g_lock (string_table.h says why no malloc).
void json_command_line(char* json, size_t size) {
  char raw[kMaxStringLength + 1];
  const size_t raw_length = read_proc_file("/proc/self/cmdline", raw, sizeof(raw));
  // Past what raw holds, the arguments cannot fit in json anyway (escaping only lengthens them).
  const bool raw_full = raw_length == sizeof(raw);
  bool more = false;
  static const char kEllipsis[] = "\"...\"]";
  const size_t limit = size - sizeof(kEllipsis) - 1;  // room for ,"..."] and the terminator
  size_t out = 0;
  json[out++] = '[';
  size_t begin = 0;
  for (size_t i = 0; i < raw_length && !more; i++) {
    if (raw[i] != 0) continue;
    if (out + 3 > limit) {  // not even `,""`
      more = true;
      break;
    }
    // Written in place; rolled back to `start` if the argument does not fit whole.
    const size_t start = out;
    if (out > 1) json[out++] = ',';
    json[out++] = '"';
    for (size_t j = begin; j < i && !more; j++) {
      unsigned char c = static_cast<unsigned char>(raw[j]);
      if (out + 7 > limit) more = true;  // the longest escape and the closing quote
      else if (c == '"' || c == '\\') { json[out++] = '\\'; json[out++] = static_cast<char>(c); }
      else if (c < 0x20) out += static_cast<size_t>(snprintf(json + out, 7, "\\u%04x", c));
      else json[out++] = static_cast<char>(c);
    }
    if (more) {
      out = start;
      break;
    }
    json[out++] = '"';
    begin = i + 1;
  }
  if (more || raw_full) {
    if (out > 1) json[out++] = ',';
    memcpy(json + out, kEllipsis, sizeof(kEllipsis));
  } else {
    json[out++] = ']';
    json[out] = 0;
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
  char json[kMaxStringLength + 1];
  json_command_line(json, sizeof(json));
  write_meta_locked("commandLine", json);
}

// A new capture (a restart through the Tracker API, or a followed fork child) has none of the
// previous capture's strings, stack nodes, code or symbols: every id it uses must be defined in it.
void reset_capture_dictionaries() {
  g_trie->reset();
  forget_unnamed_pcs_locked();
  g_trie_epoch.fetch_add(1, std::memory_order_relaxed);
  g_trie_generation.fetch_add(1, std::memory_order_relaxed);
  g_strings->clear();
  g_string_count = 0;
  g_native_pcs->clear();
  g_code->~ReusedCode();
  new (g_code) ReusedCode();
  g_deferred_code->forget_written();
}

void atfork_prepare() { lock(); }
void atfork_parent() { unlock(); }
void atfork_child();

int start_locked_state(int fd, bool followed_child) {
  uint16_t flags = (g_native_frames ? format::kFlagNativeFrames : 0) | (followed_child ? format::kFlagFollowedChild : 0);
  int error = g_writer.open(fd, flags);
  if (error) return error;
  g_pid = getpid();
  g_start_ns = monotonic_ns();
  g_trie_generation.fetch_add(1, std::memory_order_relaxed);
  g_capture_id.fetch_add(1, std::memory_order_relaxed);
  if (g_encoder.window == nullptr) g_encoder.window = static_cast<RawEvent*>(raw_allocate(kWindow * sizeof(RawEvent)));
  {
    ModulesLock modules;
    g_modules->refresh();
  }
  lock();
  // One lock hold for all of it: a thread still interning from before (it finds tracing off and
  // creates no node) cannot slip a node of the new trie in with a number the log then drops.
  reset_capture_dictionaries();
  g_log.clear();
  // Numbers from here on belong to this capture; anything older still in a ring is skipped.
  g_encoder.emit_base = g_seq.load(std::memory_order_relaxed);
  g_encoder.last_time_ns = 0;
  g_encoder.event_count = 0;
  g_encoder.block_count = 0;
  if (g_heap_blocks == nullptr) g_heap_blocks = new (raw_allocate(sizeof(HeapBlocks))) HeapBlocks();
  else g_heap_blocks->clear();
  if (g_block_ends == nullptr) g_block_ends = new (raw_allocate(sizeof(RecentBlocks))) RecentBlocks();
  else g_block_ends->clear();
  if (g_freed_lists == nullptr) g_freed_lists = new (raw_allocate(sizeof(FreedLists))) FreedLists();
  else g_freed_lists->clear();
  start_buffer();
  write_process_meta_locked(followed_child);
  g_modules_written = 0;
  write_new_modules_locked();
  write_sample_locked(monotonic_ns(), read_rss_bytes());
  unlock();
  g_writer_stop.store(false);
  g_dying_signal.store(0, std::memory_order_relaxed);
  g_dying_signal_handed_on.store(false, std::memory_order_relaxed);
  g_capture_finished.store(0, std::memory_order_relaxed);
  g_finished_by_writer = false;
  g_rings_open.store(true, std::memory_order_release);
  if (start_thread_without_signals(&g_writer_thread, writer_main, nullptr) != 0) return EAGAIN;
  g_writer_running = true;
  g_tracing = true;
  return 0;
}

void atfork_child() {
  // Only the forking thread lives on: the other rings belong to threads that do not exist here.
  ThreadRing* own = t_state ? t_state->ring : nullptr;
  if (own) {
    own->next = nullptr;
    own->head.store(0, std::memory_order_relaxed);
    own->tail.store(0, std::memory_order_relaxed);
    own->pending.store(kNothingPending, std::memory_order_relaxed);
  }
  g_rings.store(own, std::memory_order_release);
  g_log.clear();
  g_writer.forget_parent_capture();
  g_modules_lock.store(0, std::memory_order_relaxed);  // its holder, if any, is not in this process
  unlock();
  bool was_tracing = g_tracing;
  g_tracing = false;
  g_writer_running = false;  // threads do not survive fork
  g_finisher_running = false;
  g_rings_open.store(false, std::memory_order_release);
  // This thread has a new id here, whether or not this child is traced now (a Tracker may start
  // later).
  t_tid = 0;
  if (t_state) {
    t_state->tid = current_tid();
    t_state->ring->tid = t_state->tid;
    t_state->cache_generation = 0;
    t_state->capture_id = 0;
  }
  if (!was_tracing || !g_follow_fork) return;
  ReentrancyGuard guard;
  // A fresh capture for the child: new dictionaries, same accessible mappings (inherited memory).
  char path[sizeof(g_output_path)];
  const int length = snprintf(path, sizeof(path), "%s.%d", g_children_prefix, static_cast<int>(getpid()));
  if (length < 0 || static_cast<size_t>(length) >= sizeof(path)) return;  // no room to name it
  int fd = open_child_capture(path, sizeof(path));
  if (fd < 0) return;
  memcpy(g_output_path, path, sizeof(path));  // for the messages that name it
  new (&g_writer) ChunkWriter();
  g_modules = new (raw_allocate(sizeof(ModuleMap))) ModuleMap;
  start_locked_state(fd, true);
}

}  // namespace

// ---- events -----------------------------------------------------------------------------------

void record_alloc(uint8_t kind, const void* address, size_t size) {
  if (__builtin_expect(t_allocations_set_aside != 0, 0)) return;
  CapturedStack stack;
  // operator new[]'s innermost frames are looked at for V8's code-event logger (allocated_for_memview).
  capture_stack(&stack, __builtin_expect(kind == format::kNewArray, 0) ? kInducedFrameDepth : 1);
  if (__builtin_expect(kind == format::kNewArray, 0) && allocated_for_memview(stack)) return;
  uint32_t epoch;
  uint32_t stack_id = stack_id_of(&stack, false, &epoch);
  uint8_t op = format::type_byte(format::kAlloc, kind);
  if (__builtin_expect(stack.state != nullptr, 1)) {
    publish(stack.state, op, reinterpret_cast<uint64_t>(address), size, stack_id, epoch);
  } else {
    lock();
    if (g_tracing) publish_shared_locked(op, reinterpret_cast<uint64_t>(address), size);
    unlock();
  }
}

void record_free(uint8_t kind, const void* address) {
  ThreadState* state = thread_state();
  uint8_t op = format::type_byte(format::kFree, kind);
  if (__builtin_expect(state != nullptr, 1)) {
    publish(state, op, reinterpret_cast<uint64_t>(address), 0, 0, g_trie_epoch.load(std::memory_order_relaxed));
  } else {
    lock();
    if (g_tracing) publish_shared_locked(op, reinterpret_cast<uint64_t>(address), 0);
    unlock();
  }
}


void* traced_realloc(void* old_address, size_t size, void* (*reallocate)(void*, size_t)) {
  CapturedStack stack;
  capture_stack(&stack);
  uint32_t epoch;
  uint32_t stack_id = stack_id_of(&stack, false, &epoch);
  uint64_t old = reinterpret_cast<uint64_t>(old_address);
  const uint8_t alloc_op = format::type_byte(format::kAlloc, format::kReallocKind);
  // Set aside only when it makes a fresh block: a realloc of a block the capture has moves it,
  // and dropping its new half would lose the block (a realloc of NULL is a plain allocation).
  const bool set_aside = t_allocations_set_aside != 0 && old_address == nullptr;
  if (__builtin_expect(stack.state == nullptr, 0)) {
    // No ring: the lock is held across the call, so nothing can fall between the two halves.
    lock();
    void* result = reallocate(old_address, size);
    if (g_tracing && (result != nullptr || size == 0)) {
      publish_shared_locked(format::type_byte(format::kFree, format::kFreeKind), old, 0);
      if (result && !set_aside) publish_shared_locked(alloc_op, reinterpret_cast<uint64_t>(result), size);
    }
    unlock();
    return result;
  }
  // The free half is numbered before the call (the old block may go to another thread the moment
  // realloc returns), the allocation after it. A realloc that failed freed nothing: the old block
  // stays the program's, as it was, and the free half's number goes unused.
  const uint64_t free_seq = number_event(stack.state->ring);
  void* result = reallocate(old_address, size);
  if (__builtin_expect(result == nullptr && size != 0, 0)) {
    drop_numbered(stack.state->ring, free_seq);
    return result;
  }
  publish_numbered(stack.state, free_seq, kOpReallocFree, old, 0, 0, epoch);
  if (__builtin_expect(set_aside, 0)) return result;  // the free half (of NULL) only
  if (result != nullptr) publish(stack.state, alloc_op, reinterpret_cast<uint64_t>(result), size, stack_id, epoch);
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
      uint32_t epoch;
      uint32_t stack_id = stack_id_of(&stack, true, &epoch);
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
      bool stack_known = false;
      g_accessible->gain(start, end, [&](uint64_t a, uint64_t b) {
        if (!stack_known) {
          uint32_t epoch;
          stack_id = stack_id_of(&stack, true, &epoch);
          stack_known = true;
        }
        write_map_locked(format::kCauseMprotect, a, b, stack_id);
      });
    } else {
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
    g_accessible->lose(old_start, old_end, [](uint64_t a, uint64_t b) { write_unmap_locked(format::kCauseMremap, a, b); });
    if (was_accessible) {
      uint64_t start = reinterpret_cast<uint64_t>(result);
      uint64_t end = page_ceil(start + new_length);
      uint32_t epoch;
      uint32_t stack_id = stack_id_of(&stack, true, &epoch);
      g_accessible->gain(start, end, [stack_id](uint64_t a, uint64_t b) { write_map_locked(format::kCauseMremap, a, b, stack_id); });
    }
  }
  unlock();
  return result;
}

bool g_redirected = false;

void note_modules_changed() {
  if (g_redirected) redirect_loaded_objects();  // the new object must call the hooks too
  if (!g_tracing) return;
  {
    ModulesLock modules;
    g_modules->refresh();
  }
  lock();
  if (g_tracing) {
    write_new_modules_locked();
    name_pcs_of_new_modules_locked();
  }
  unlock();
}

int start_tracing(const StartOptions& options) {
  ReentrancyGuard guard;
  if (g_tracing) return EBUSY;
  // Tracing ended by itself (a write failed) but nobody stopped it: finish that capture first,
  // so two writer threads never share the encoder.
  if (g_writer_running || g_finisher_running) stop_tracing("restarted");
  // After that capture's finisher is done naming its pcs with the list it read.
  remember_debug_directories();
  if (!g_trie) {
    pthread_key_create(&g_thread_key, destroy_thread_state);
    g_trie = new (raw_allocate(sizeof(StackTrie))) StackTrie();
    g_native_pcs = new (raw_allocate(sizeof(NativePcSet))) NativePcSet();
    g_accessible = new (raw_allocate(sizeof(AccessibleRanges))) AccessibleRanges();
    // No "()": value-initialising would zero its 800 KB of fresh pages.
    g_modules = new (raw_allocate(sizeof(ModuleMap))) ModuleMap;
    g_scratch = static_cast<uint8_t*>(raw_allocate(kScratchSize));
    g_strings = new (raw_allocate(sizeof(StringTable))) StringTable();
    g_code = new ReusedCode();
    g_deferred_code = new DeferredCode();
    g_unnamed_pcs = static_cast<uint64_t*>(raw_allocate(kMaxUnnamedPcs * sizeof(uint64_t)));
    g_unnamed_pc_tids = static_cast<uint32_t*>(raw_allocate(kMaxUnnamedPcs * sizeof(uint32_t)));
    g_unnamed_pc_ms = static_cast<uint32_t*>(raw_allocate(kMaxUnnamedPcs * sizeof(uint32_t)));
    g_settled_pcs = static_cast<uint64_t*>(raw_allocate(kMaxUnnamedPcs * sizeof(uint64_t)));
  }
  {
    ModulesLock modules;
    g_modules->refresh();
  }
  find_own_text();
  g_native_frames = options.native_frames;
  g_follow_fork = options.follow_fork;
  g_sample_interval_ms = options.sample_interval_ms ? options.sample_interval_ms : 10;
  strncpy(g_output_path, options.output_path, sizeof(g_output_path) - 1);
  strncpy(g_children_prefix, options.children_prefix ? options.children_prefix : options.output_path, sizeof(g_children_prefix) - 1);
  int fd = options.followed_child ? open_child_capture(g_output_path, sizeof(g_output_path)) : open_capture(g_output_path);
  if (fd < 0) {
    int error = errno;
    snprintf(g_last_error, sizeof(g_last_error), "cannot write the capture to %.400s: %s", g_output_path, strerror(error));
    return error;
  }
  // A fresh module map: every module gets its MODULE record in this capture.
  {
    ModulesLock modules;
    g_modules->~ModuleMap();
    new (g_modules) ModuleMap;
  }
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
  else catch_deadly_signals(finish_before_dying);
  return error;
}

namespace {

struct Finish {
  const char* end_reason;
  bool was_tracing;
  uint64_t now;
  bool process_ending;  // the process exits once the capture is finished
};

// Ends tracing; what is left to do is finish_capture's. Called with the capture open.
Finish end_tracing(const char* end_reason, bool process_ending) {
  lock();
  bool was_tracing = g_tracing;
  g_tracing = false;  // no new stacks from here on: the set of native pcs is final
  unlock();
  return {end_reason, was_tracing, monotonic_ns(), process_ending};
}

// The records that end a capture: the native pcs' names, why it ended and the last RSS sample, read
// first: naming maps symbol tables into the process (which stay mapped when it is ending).
void write_ending_records(const Finish& finish) {
  const uint64_t rss = read_rss_bytes();
  if (finish.process_ending) ElfSymbols::leave_mappings_to_exit();
  write_symbols();
  lock();
  write_meta_locked("endReason", finish.end_reason);
  write_sample_locked(finish.now, rss);
  unlock();
}

// The writer's part when a deadly signal came (after its last pass over the rings, before the final
// merge): the events so far go to the file first, as a chunk of their own, for what follows takes
// locks and memory that the dying thread may hold; then tracing ends as for a stop, with the
// signal as the reason. Returns the time of death.
uint64_t begin_finishing_as_process_dies(int signal) {
  merge_pass();
  rotate_buffer();
  g_writer.drain();
  const Finish finish = end_tracing(deadly_signal_name(signal), /*process_ending=*/true);
  if (finish.was_tracing) write_ending_records(finish);
  return finish.now;
}

void announce_capture_finished() {
  g_capture_finished.store(1, std::memory_order_release);
  futex_wake_all(&g_capture_finished);
}

// Run by a deadly signal's handler on the dying thread, before the signal takes its course: has
// the writer finish the capture, and waits for that (async-signal-safe: atomics and futexes).
void finish_before_dying(int signal) {
  if (!g_writer_running || g_pid != getpid()) return;  // not tracing here (a fork child not followed)
  if (pthread_equal(pthread_self(), g_writer_thread)) return;  // the writer itself
  int none = 0;
  if (g_dying_signal.compare_exchange_strong(none, signal, std::memory_order_acq_rel)) wake_writer();
  const uint64_t give_up = monotonic_ns() + kDyingWaitNs;
  while (g_capture_finished.load(std::memory_order_acquire) == 0) {
    const uint64_t now = monotonic_ns();
    if (now >= give_up) break;
    futex_wait(&g_capture_finished, 0, static_cast<long>(std::min<uint64_t>(give_up - now, 100000000ull)));
  }
}

// Run by an ending signal's handler (SIGINT, SIGTERM, SIGHUP): has the writer finish the capture
// and then hand the signal on, and returns at once, so that the thread it stopped can release the
// locks the writer needs. False when nothing is traced here: the signal goes on at once.
bool finish_then_hand_on(int signal) {
  if (!g_writer_running || g_pid != getpid()) return false;
  int none = 0;
  if (!g_dying_signal.compare_exchange_strong(none, signal, std::memory_order_acq_rel)) return true;  // one is on its way
  g_dying_signal_handed_on.store(true, std::memory_order_release);
  wake_writer();
  return true;
}

// Writes the native symbols, the last events and the trailer, and closes the capture.
void finish_capture(const Finish& finish) {
  int failure = g_writer.failure();
  const uint64_t now = finish.now;
  if (finish.was_tracing) write_ending_records(finish);
  g_writer_stop.store(true, std::memory_order_release);
  wake_writer();
  pthread_join(g_writer_thread, nullptr);
  g_writer_running = false;
  if (g_finished_by_writer) return;  // a deadly signal came meanwhile: the writer finished it
  rotate_buffer();
  g_writer.finish(g_encoder.event_count, now - g_start_ns);
  announce_capture_finished();
  failure = failure ? failure : g_writer.failure();
  if (failure == EBADF) {
    // Programs that close every descriptor they do not know of (a fork child before exec, a
    // daemon) close the capture's too.
    fprintf(stderr, "memview: tracing stopped early: the program closed the capture file %s; it holds the events written before\n",
            g_output_path);
  } else if (failure) {
    fprintf(stderr, "memview: tracing stopped early: writing %s failed: %s; the capture holds the events written before\n",
            g_output_path, strerror(failure));
  }
}

void* finisher_main(void* argument) {
  t_inside_memview = 1;  // its allocations (symbol names) are memview's own
  Finish* finish = static_cast<Finish*>(argument);
  finish_capture(*finish);
  return nullptr;
}

}  // namespace

void stop_tracing(const char* end_reason, bool process_ending) {
  ReentrancyGuard guard;
  if (g_finisher_running) {
    pthread_join(g_finisher_thread, nullptr);
    g_finisher_running = false;
  }
  if (!g_writer_running) return;
  finish_capture(end_tracing(end_reason, process_ending));
}

int capture_descriptor() { return g_writer.descriptor(); }

void stop_tracing_before_exit_call() {
  // stop_tracing does nothing when nothing runs; only a vfork child needs telling apart.
  if (g_pid == getpid()) stop_tracing("exit", /*process_ending=*/true);
}

void stop_tracing_at_exit(const char* end_reason) {
  ReentrancyGuard guard;
  if (g_finisher_running || !g_writer_running) return;
  static Finish finish;
  finish = end_tracing(end_reason, /*process_ending=*/true);
  if (start_thread_without_signals(&g_finisher_thread, finisher_main, &finish) == 0) g_finisher_running = true;
  else finish_capture(finish);
}

}  // namespace memview

using namespace memview;

extern "C" {

int memview_is_tracing() { return g_tracing ? 1 : 0; }

int memview_native_frames() { return g_native_frames ? 1 : 0; }

int memview_capture_number() { return static_cast<int>(g_capture_id.load(std::memory_order_acquire)); }

int memview_start(const char* output_path, int native_frames, int sample_interval_ms) {
  StartOptions options{output_path, native_frames != 0, false, false, static_cast<uint32_t>(sample_interval_ms)};
  return start_tracing(options);
}

void memview_stop(const char* end_reason) { stop_tracing(end_reason ? end_reason : "stopped"); }

void memview_stop_at_exit(const char* end_reason) { stop_tracing_at_exit(end_reason ? end_reason : "exit"); }

const char* memview_last_error() { return g_last_error; }

void memview_enter() { t_inside_memview++; }
void memview_leave() { t_inside_memview--; }
void memview_set_aside_allocations(int on) { t_allocations_set_aside = on; }

int memview_holds_core_lock() { return t_holds_lock; }

void memview_allocates_for_memview(const uint64_t* ranges, int count) {
  ReentrancyGuard guard;
  lock();
  // Once per process: every isolate's addon reports the same functions of node's text.
  if (g_induced_span == 0 && count > 0) {
    uint64_t low = ~0ull, high = 0;
    int kept = 0;
    for (int i = 0; i < count && kept < kMaxInducedCode; i++) {
      const uint64_t start = ranges[2 * i], end = ranges[2 * i + 1];
      if (start >= end) continue;
      g_induced_code[kept++] = {start, end};
      low = std::min(low, start);
      high = std::max(high, end);
    }
    if (kept > 0) {
      g_induced_count = kept;
      g_induced_low = low;
      __atomic_store_n(&g_induced_span, high - low, __ATOMIC_RELEASE);
    }
  }
  unlock();
}

void memview_code_added(uint64_t start, uint64_t size, int code_type, const char* name, size_t name_length,
                        const char* script, size_t script_length, int line, int column, const uint32_t* positions,
                        size_t position_count, uint64_t owner) {
  ReentrancyGuard guard;
  lock();
  if (g_tracing) {
    if (name_length > kMaxStringLength) name_length = kMaxStringLength;
    if (script_length > kMaxStringLength) script_length = kMaxStringLength;
    const uint64_t identity = code_identity(name, name_length, script, script_length);
    note_code_range_locked(start, start + size, identity);
    if (position_count > kMaxCodePositions) position_count = kMaxCodePositions;
    CodeDescription code;
    code.start = start;
    code.size = size;
    code.code_type = code_type;
    code.name.assign(name ? name : "", name ? name_length : 0);
    code.script.assign(script ? script : "", script ? script_length : 0);
    code.line = line;
    code.column = column;
    code.positions.assign(positions, positions + position_count * 3);
    g_deferred_code->add(std::move(code), identity, owner);
  }
  unlock();
}

// The descriptions go, and the ranges of the code no stack went through: a range some interned
// pc lies in stays in g_code, so that the code coming to the same place next is salted.
void memview_forget_code(uint64_t owner) {
  ReentrancyGuard guard;
  lock();
  g_deferred_code->forget_owner(owner, [](uint64_t start, uint64_t end) { g_code->forget_unreferenced(start, end); });
  unlock();
}

void memview_code_moved(uint64_t from, uint64_t to) {
  ReentrancyGuard guard;
  lock();
  if (g_tracing) {
    // The old range stays known (its pcs are interned); the new one is checked for reuse.
    uint64_t length = g_code->length_of(from);
    if (length > 0) note_code_range_locked(to, to + length, g_code->identity_of(from));
    // Code no stack went through yet moves silently: its record, when written, says where it is.
    if (g_deferred_code->move(from, to) == DeferredCode::Move::kPending) {
      unlock();
      return;
    }
    ByteCursor out = begin_bytes_locked();
    out.byte(format::type_byte(format::kCode, format::kCodeMove));
    out.varint(from);
    out.varint(to);
    finish_bytes_locked(out);
  }
  unlock();
}

void memview_catch_ending_signals(int signals_mask) { catch_ending_signals_in_front(finish_then_hand_on, signals_mask); }

void memview_catch_faults() {
  // V8's own test for a WebAssembly trap, which node's handler asks first. Without it (not node)
  // there is no knowing which faults the handler in place recovers from: it is left alone.
  const RecoverableFault is_webassembly_trap =
      reinterpret_cast<RecoverableFault>(dlsym(RTLD_DEFAULT, "_ZN2v829TryHandleWebAssemblyTrapPosixEiP9siginfo_tPv"));
  if (is_webassembly_trap) catch_faults_in_front(finish_before_dying, is_webassembly_trap);
}

void memview_native_code_range(uint64_t start, uint64_t end) {
  ReentrancyGuard guard;
  bool added;
  {
    ModulesLock modules;
    added = g_modules->add_native_range(start, end);
  }
  if (!added) return;  // known already (every isolate finds every copy there is)
  lock();
  g_trie_generation.fetch_add(1, std::memory_order_relaxed);  // cached stacks classified these pcs as JavaScript
  unlock();
}

size_t memview_unnamed_pcs_in(uint64_t start, uint64_t end, uint64_t* out, size_t capacity) {
  ReentrancyGuard guard;
  size_t count = 0;
  // A pc is listed once per node it ends (the return address after a call into the runtime ends
  // nodes under many callers): each is taken once, so that a few such pcs cannot fill `out`.
  auto take = [&](uint64_t pc) {
    if (pc <= start || pc > end || count >= capacity) return;  // a return address: pc - 1 is the call
    for (size_t i = 0; i < count; i++) {
      if (out[i] == pc) return;
    }
    out[count++] = pc;
  };
  lock();
  if (g_tracing) {
    if (g_unnamed_pcs_overflowed) g_trie->for_each_pc([&](uint64_t key) { take(key & kPcMask); });
    else for (size_t i = 0; i < g_unnamed_pc_count; i++) take(g_unnamed_pcs[i]);
  }
  unlock();
  return count;
}

void memview_js_exit_slot(const uint64_t* exit_slot, const uint64_t* entry_slot) {
  t_js_exit_slot = exit_slot;
  t_js_entry_slot = exit_slot != nullptr ? entry_slot : nullptr;
}

void memview_interpreter_entry(uint64_t start, uint64_t end) {
  ReentrancyGuard guard;
  lock();
  // Every isolate lists the same builtin; the first report is the one.
  if (g_interpreter_entry_size == 0 && start < end) {
    g_interpreter_entry_start = start;
    __atomic_store_n(&g_interpreter_entry_size, end - start, __ATOMIC_RELEASE);
    g_trie_generation.fetch_add(1, std::memory_order_relaxed);  // cached stacks hold trampoline pcs
  }
  unlock();
}

void memview_reset_stacks() {
  ReentrancyGuard guard;
  lock();
  if (g_tracing) {
    // Stacks interned before V8 listed its code hold pcs nothing named yet: their code goes out
    // now, before the reset, which is when readers name such pcs (docs/capture-format.md). Pcs no
    // listing named yet may be another isolate's, still starting (workers started together): the
    // reset waits until none waits (reset_when_nothing_waits). 24 workers started at once had 40%
    // of their allocations on stacks with unknown frames when the first worker's reset cut the
    // others' pcs off.
    if (name_unnamed_pcs_locked(current_tid()) == 0) {
      reset_trie_locked();
    } else {
      const uint64_t now = monotonic_ns();
      if (g_reset_deferred_since.load(std::memory_order_relaxed) == 0) g_reset_first_deferred = now;
      g_reset_deferred_since.store(now, std::memory_order_relaxed);
    }
  }
  unlock();
}

void memview_thread_name(const char* name) {
  ReentrancyGuard guard;
  uint32_t tid = current_tid();
  lock();
  if (g_tracing) write_thread_name_locked(tid, name);
  unlock();
}

void memview_meta(const char* key, const char* value) {
  ReentrancyGuard guard;
  lock();
  if (g_tracing) write_meta_locked(key, value);
  unlock();
}

}  // extern "C"
