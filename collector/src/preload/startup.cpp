// Starts tracing when the library is preloaded by `memview run`, from the environment the
// launcher set, and stops it (writing the trailer) when the process exits normally. Tracing starts
// at the first hooked allocator call, which can come before this library's constructor: libstdc++'s
// own static initialiser allocates its 72 KiB emergency pool before any constructor of ours runs.
// That block is the program's when the program uses libstdc++ (node does); a C program has
// libstdc++ loaded only because memview needs it, and then that call does not start tracing.
// Mapping hooks never start it (see should_trace_mapping in core/tracker.h).
#include <elf.h>
#include <link.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

#include "../core/capture_files.h"
#include "../core/proc_file.h"
#include "../core/tracker.h"

namespace memview {

bool g_environment_checked = false;

extern "C" int __cxa_atexit(void (*function)(void*), void* argument, void* dso_handle);

namespace {
bool env_flag(const char* name) {
  const char* value = getenv(name);
  return value && value[0] == '1';
}
// A Chromium zygote checks that it has one thread before it forks a renderer, and crashes
// (SIGTRAP) when memview's writer thread is there: the browser then gives up ("GPU process isn't
// usable"). Left untraced, so are the renderers it forks; the browser, GPU and utility processes
// are exec'd, and traced. Read with plain system calls: this runs before anything is set up.
bool must_stay_single_threaded() {
  char command_line[8192];
  const size_t length = read_proc_file("/proc/self/cmdline", command_line, sizeof(command_line));
  static const char kZygote[] = "--type=zygote";
  for (size_t start = 0; start < length;) {
    const char* argument = command_line + start;
    const size_t argument_length = strnlen(argument, length - start);
    if (argument_length == sizeof(kZygote) - 1 && memcmp(argument, kZygote, argument_length) == 0) return true;
    start += argument_length + 1;
  }
  return false;
}
// Whether an object other than this library lists libstdc++ among the objects it needs (read
// from the dynamic sections the loader mapped; nothing here allocates).
int needs_libstdcxx(struct dl_phdr_info* info, size_t, void* data) {
  const ElfW(Dyn)* dynamic = nullptr;
  bool is_memview = false;
  const uint64_t own = reinterpret_cast<uint64_t>(&needs_libstdcxx);
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& header = info->dlpi_phdr[i];
    const uint64_t start = info->dlpi_addr + header.p_vaddr;
    if (header.p_type == PT_DYNAMIC) dynamic = reinterpret_cast<const ElfW(Dyn)*>(start);
    if (header.p_type == PT_LOAD && own >= start && own < start + header.p_memsz) is_memview = true;
  }
  if (is_memview || dynamic == nullptr) return 0;
  const char* strings = nullptr;
  for (const ElfW(Dyn)* entry = dynamic; entry->d_tag != DT_NULL; entry++) {
    if (entry->d_tag != DT_STRTAB) continue;
    // The loader makes it absolute in place, except in read-only dynamic sections (the vDSO).
    uint64_t address = entry->d_un.d_ptr;
    if (address < info->dlpi_addr) address += info->dlpi_addr;
    strings = reinterpret_cast<const char*>(address);
  }
  if (strings == nullptr) return 0;
  for (const ElfW(Dyn)* entry = dynamic; entry->d_tag != DT_NULL; entry++) {
    if (entry->d_tag == DT_NEEDED && strncmp(strings + entry->d_un.d_val, "libstdc++.so", 12) == 0) {
      *static_cast<bool*>(data) = true;
      return 1;
    }
  }
  return 0;
}

bool program_uses_libstdcxx() {
  static int known = -1;
  if (known < 0) {
    bool found = false;
    dl_iterate_phdr(needs_libstdcxx, &found);
    known = found ? 1 : 0;
  }
  return known == 1;
}

// The executable segment of the loaded object that holds `address`, or of the first whose path
// holds `name`.
struct TextSearch {
  uint64_t address;
  const char* name;
  uint64_t start = 0, end = 0;
};

int find_text(struct dl_phdr_info* info, size_t, void* data) {
  TextSearch* search = static_cast<TextSearch*>(data);
  const bool named = search->name != nullptr && info->dlpi_name != nullptr && strstr(info->dlpi_name, search->name) != nullptr;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& header = info->dlpi_phdr[i];
    if (header.p_type != PT_LOAD || !(header.p_flags & PF_X)) continue;
    const uint64_t start = info->dlpi_addr + header.p_vaddr, end = start + header.p_memsz;
    if (named || (search->address >= start && search->address < end)) {
      search->start = start;
      search->end = end;
      return 1;
    }
  }
  return 0;
}

// Whether the allocator call being hooked came from libstdc++'s code: walks memview's own frames
// (built with frame pointers) up to the first return address outside them, which is the hook's
// caller; no frame of another object is read.
__attribute__((noinline)) bool called_from_libstdcxx() {
  static TextSearch own{reinterpret_cast<uint64_t>(&find_text), nullptr};
  static TextSearch libstdcxx{0, "/libstdc++.so"};
  if (own.end == 0) dl_iterate_phdr(find_text, &own);
  if (libstdcxx.end == 0) dl_iterate_phdr(find_text, &libstdcxx);
  const uint64_t* frame = static_cast<const uint64_t*>(__builtin_frame_address(0));
  for (int depth = 0; depth < 16 && frame != nullptr; depth++) {
    const uint64_t return_address = frame[1];
    if (return_address < own.start || return_address >= own.end) return return_address >= libstdcxx.start && return_address < libstdcxx.end;
    const uint64_t* caller_frame = reinterpret_cast<const uint64_t*>(frame[0]);
    if (caller_frame <= frame) return false;
    frame = caller_frame;
  }
  return false;
}

bool g_constructed = false;
}  // namespace

void start_from_environment() {
  if (g_environment_checked) return;
  // libstdc++'s initialiser, which runs before this library's constructor, allocates its pool;
  // in a program that does not use libstdc++ that call is memview's doing. The program's own
  // libraries' initialisers may run before that constructor too: their calls start tracing.
  if (!g_constructed && !program_uses_libstdcxx() && called_from_libstdcxx()) return;
  g_environment_checked = true;  // first: starting allocates, and those calls come back here
  const char* output = getenv("MEMVIEW_OUTPUT");
  if (!output || !output[0]) return;
  memview::ReentrancyGuard guard;
  // The first traced process marks itself as the root; its children inherit the mark.
  const char* root = getenv("MEMVIEW_ROOT_PID");
  bool is_root = !root || atoi(root) == static_cast<int>(getpid());
  if (!root) {
    char pid_text[24];
    snprintf(pid_text, sizeof(pid_text), "%d", static_cast<int>(getpid()));
    setenv("MEMVIEW_ROOT_PID", pid_text, 1);
  }
  // "%p" in the path stands for the root's pid (the launcher cannot know it before the process
  // exists); children's captures are named after the root's.
  static char expanded[4096];
  const char* marker = strstr(output, "%p");
  if (marker) {
    snprintf(expanded, sizeof(expanded), "%.*s%d%s", static_cast<int>(marker - output), output,
             root ? atoi(root) : static_cast<int>(getpid()), marker + 2);
    output = expanded;
  }
  bool follow_fork = env_flag("MEMVIEW_FOLLOW_FORK");
  // Children started by the program (exec of node or anything else) inherit the environment:
  // they are traced into <capture>.<pid> with --follow-fork, and left alone otherwise.
  if (!is_root && !follow_fork) return;
  const char* root_output = output;
  static char child_output[4200];
  if (!is_root) {
    snprintf(child_output, sizeof(child_output), "%s.%d", output, static_cast<int>(getpid()));
    output = child_output;
    if (must_stay_single_threaded()) {
      // The capture this process began as a fork child, before its exec, ends here untraced.
      memview::discard_own_child_capture(child_output);
      return;
    }
  }
  const char* interval = getenv("MEMVIEW_SAMPLE_MS");
  memview::StartOptions options{output, env_flag("MEMVIEW_NATIVE"), follow_fork, !is_root,
                                static_cast<uint32_t>(interval ? atoi(interval) : 10), root_output};
  if (memview::start_tracing(options) != 0) {
    fprintf(stderr, "memview: %s\n", memview_last_error());
  }
}

namespace {
void stop_at_exit(void*) { stop_tracing("exit", /*process_ending=*/true); }

__attribute__((constructor)) void start_at_load() {
  g_constructed = true;
  // The end of a normal exit comes after every library's destructor: a handler registered here,
  // before __libc_start_main registers the dynamic loader's destructor pass, runs after that pass
  // (exit runs them last in, first out). A destructor of memview's ran before those of the
  // libraries the program loaded (they come later in load order), and what they free showed as
  // leaked. No dso handle: unloading this library never runs it early.
  __cxa_atexit(stop_at_exit, nullptr, nullptr);
  start_from_environment();
}
}  // namespace

}  // namespace memview
