// The collector's core: the state shared by every thread of the traced process, and the entry
// points the allocator hooks (preload/hooks.cpp) and the Node.js addon (addon/addon.cc) call.
// All state lives here; the hooks stay thin.
#pragma once
#include <cstddef>
#include <cstdint>

namespace memview {

/** Per-thread reentrancy guard: while set, the thread's allocations are memview's own. */
extern __thread int t_inside_memview __attribute__((tls_model("initial-exec")));
/** True while tracing; read on every hooked call before anything else. */
extern volatile bool g_tracing;

/** Whether the environment (MEMVIEW_OUTPUT...) has been looked at; see preload/startup.cpp. */
extern bool g_environment_checked;
void start_from_environment();

/**
 * Whether a mapping hook records its call. Mapping hooks never start tracing themselves: a
 * program with an allocator of its own (Chromium exports malloc and operator new, which then win
 * over the preload's, also for the core's own calls) maps its arena from inside its first malloc,
 * holding its lock, and starting there would call that allocator again and wait on that lock
 * forever. Tracing then starts at the first call that reaches memview's malloc or in the
 * library's constructor, whichever comes first.
 */
inline bool should_trace_mapping() { return __builtin_expect(g_tracing && !t_inside_memview, 0); }

/** Whether an allocator hook records its call; the first one may start tracing from the environment. */
inline bool should_trace() {
  if (__builtin_expect(!g_environment_checked, 0)) start_from_environment();
  return should_trace_mapping();
}

class ReentrancyGuard {
 public:
  ReentrancyGuard() { t_inside_memview++; }
  ~ReentrancyGuard() { t_inside_memview--; }
};

// Event entry points. Each is called with the guard already taken by the hook.
void record_alloc(uint8_t kind, const void* address, size_t size);
void record_free(uint8_t kind, const void* address);
/** Runs `reallocate` and records its result so that no other event can fall in between. */
void* traced_realloc(void* old_address, size_t size, void* (*reallocate)(void*, size_t));
void* traced_mmap(void* address, size_t length, int protection, int flags, int fd, long offset);
int traced_munmap(void* address, size_t length);
int traced_mprotect(void* address, size_t length, int protection);
void* traced_mremap(void* old_address, size_t old_length, size_t new_length, int flags, void* new_address);
/** A shared object was loaded: refresh the module map and write MODULE records. */
void note_modules_changed();
/** True when the hooks won symbol resolution at load (LD_PRELOAD), false when loaded late. */
bool hooks_are_preloaded();
/** Points every loaded object's allocator GOT slots at the hooks (late start). */
void redirect_loaded_objects();

struct StartOptions {
  const char* output_path;
  bool native_frames;
  bool follow_fork;
  bool followed_child;
  uint32_t sample_interval_ms;
  // Followed children write <children_prefix>.<pid>; nullptr: the output path. Every descendant of
  // `memview run`, forked or exec'd, is named after the root capture, so a fork child's capture
  // and that of the program it then execs share one name, and the exec'd one replaces it.
  const char* children_prefix = nullptr;
};

/** Opens the capture and starts tracing. Returns 0 or an errno value. */
int start_tracing(const StartOptions& options);
/**
 * Stops tracing, writes native symbols and the trailer, closes the capture. `process_ending`: the
 * process exits right after (what it leaves behind, the kernel drops).
 */
void stop_tracing(const char* end_reason, bool process_ending = false);
/**
 * Stops tracing now and leaves the rest of stop_tracing (symbols, last chunk, trailer) to a thread
 * of its own, so that it runs while the process tears itself down. Only for a process about to
 * exit: the library's destructor calls stop_tracing, which waits for that thread.
 */
void stop_tracing_at_exit(const char* end_reason);
/**
 * stop_tracing("exit") for a process ending through _exit(), which runs no destructor: does
 * nothing in a process that is not the one tracing (a vfork child shares its parent's memory).
 */
void stop_tracing_before_exit_call();
/**
 * The descriptor the capture is being written to, or -1. Programs that close every descriptor they
 * did not open (a fork child before its exec, a daemon) must not close it: the writer would fail,
 * or write into whatever file took its number next.
 */
int capture_descriptor();

}  // namespace memview

// The C interface the Node.js addon finds with dlsym, so the addon never links against this
// library and works whether it was preloaded (memview run) or loaded later (Tracker API).
extern "C" {
__attribute__((visibility("default"))) int memview_is_tracing();
/** 1 when the capture keeps native frames (--native). */
__attribute__((visibility("default"))) int memview_native_frames();
/** Which capture this is: a number that changes with every start. */
__attribute__((visibility("default"))) int memview_capture_number();
__attribute__((visibility("default"))) int memview_start(const char* output_path, int native_frames,
                                                         int sample_interval_ms);
__attribute__((visibility("default"))) void memview_stop(const char* end_reason);
__attribute__((visibility("default"))) void memview_stop_at_exit(const char* end_reason);
__attribute__((visibility("default"))) const char* memview_last_error();
__attribute__((visibility("default"))) void memview_enter();
__attribute__((visibility("default"))) void memview_leave();
/** Leaves this thread's fresh allocations out of the capture (on != 0) or not; frees, and both
 * halves of a realloc of an existing block, are kept. */
__attribute__((visibility("default"))) void memview_set_aside_allocations(int on);
/** 1 when the calling thread holds the core's lock. For tests: nothing done under it may call the
 *  program's allocator (collector/test-addon/own_allocator.cc checks it from its malloc). */
__attribute__((visibility("default"))) int memview_holds_core_lock();
/** `count` functions, [ranges[2i], ranges[2i+1]), that allocate only for memview's handler of V8's
 *  code events: an allocation with one of them among its innermost frames is left out. */
__attribute__((visibility("default"))) void memview_allocates_for_memview(const uint64_t* ranges, int count);
/** positions: triples (pc offset, line, column), line/column 1-based. owner: the isolate whose
 *  heap holds the code (0: shared by every isolate, in node's text). */
__attribute__((visibility("default"))) void memview_code_added(uint64_t start, uint64_t size, int code_type,
                                                               const char* name, size_t name_length,
                                                               const char* script, size_t script_length,
                                                               int line, int column, const uint32_t* positions,
                                                               size_t position_count, uint64_t owner);
/** The isolate `owner` is being torn down (a worker ends): the code it reported is forgotten. */
__attribute__((visibility("default"))) void memview_forget_code(uint64_t owner);
__attribute__((visibility("default"))) void memview_code_moved(uint64_t from, uint64_t to);
/** [start, end) holds native code (V8's copy of its builtins): kept only with --native. */
__attribute__((visibility("default"))) void memview_native_code_range(uint64_t start, uint64_t end);
/** Up to `capacity` pcs in (start, end] that interned stacks hold and no reported code named (they
 *  were interned before the code there was known), into `out`; returns how many. */
__attribute__((visibility("default"))) size_t memview_unnamed_pcs_in(uint64_t start, uint64_t end, uint64_t* out, size_t capacity);
/** [start, end) holds V8's InterpreterEntryTrampoline: frames returning into it are interpreted
 *  JavaScript, named by the bytecode their frame is running. */
__attribute__((visibility("default"))) void memview_interpreter_entry(uint64_t start, uint64_t end);
/** Where the calling thread's isolate records its innermost exit frame, the frame V8 builds when
 *  JavaScript calls into C++ (V8's c_entry_fp: 0 while JavaScript itself runs); nullptr when the
 *  isolate goes. Without --native, the walks of this thread go from the allocator's caller straight
 *  to that frame: the C++ frames between are never stored. `entry_slot` (or nullptr): where it
 *  records its outermost entry frame, through which C++ first called JavaScript (V8's
 *  js_entry_sp: 0 while no JavaScript runs); the walks end there, as only C++ lies beyond. */
__attribute__((visibility("default"))) void memview_js_exit_slot(const uint64_t* exit_slot, const uint64_t* entry_slot);
/** Puts memview's segfault handler in front of node's (fatal_signals.h), once node has installed
 *  it: a native crash then finishes the capture too. */
__attribute__((visibility("default"))) void memview_catch_faults();
/** Finishes the capture on SIGINT, SIGTERM and SIGHUP (bits `1 << number` of the mask) in their
 *  handler, in front of node's (fatal_signals.h): for those the program has no listener for. */
__attribute__((visibility("default"))) void memview_catch_ending_signals(int signals_mask);
/** Forgets interned stacks, so pcs of code that was only now reported are resolved afresh. */
__attribute__((visibility("default"))) void memview_reset_stacks();
__attribute__((visibility("default"))) void memview_thread_name(const char* name);
__attribute__((visibility("default"))) void memview_meta(const char* key, const char* value);
}
