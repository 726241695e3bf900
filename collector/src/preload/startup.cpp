// Starts tracing when the library is preloaded by `memview run`, from the environment the
// launcher set, and stops it (writing the trailer) when the process exits normally. Tracing starts
// at the first hooked allocator call, which can come before this library's constructor: libstdc++'s
// own static initialiser allocates its 72 KiB emergency pool before any constructor of ours runs.
// That block is the program's when the program uses libstdc++ (node does); a C program has
// libstdc++ loaded only because memview needs it, and then tracing waits for the constructor.
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

bool g_constructed = false;
}  // namespace

void start_from_environment() {
  if (g_environment_checked) return;
  // Before this library's constructor, only the initialisers of the libraries it needs run.
  if (!g_constructed && !program_uses_libstdcxx()) return;
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
__attribute__((constructor)) void start_at_load() {
  g_constructed = true;
  start_from_environment();
}
__attribute__((destructor)) void stop_at_exit() { stop_tracing("exit"); }
}  // namespace

}  // namespace memview
