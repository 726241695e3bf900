// Starts tracing when the library is preloaded by `memview run`, from the environment the
// launcher set, and stops it (writing the trailer) when the process exits normally. Tracing starts
// at the first hooked allocator call, which can come before this library's constructor: libstdc++'s
// own static initialiser allocates its 72 KiB emergency pool before any constructor of ours runs.
// Mapping hooks never start it (see should_trace_mapping in core/tracker.h).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

#include "../core/tracker.h"

namespace memview {

bool g_environment_checked = false;

namespace {
bool env_flag(const char* name) {
  const char* value = getenv(name);
  return value && value[0] == '1';
}
}  // namespace

void start_from_environment() {
  if (g_environment_checked) return;
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
  // "%p" in the path stands for the pid (the launcher cannot know it before the process exists).
  static char expanded[4096];
  const char* marker = strstr(output, "%p");
  if (marker) {
    snprintf(expanded, sizeof(expanded), "%.*s%d%s", static_cast<int>(marker - output), output,
             static_cast<int>(getpid()), marker + 2);
    output = expanded;
  }
  bool follow_fork = env_flag("MEMVIEW_FOLLOW_FORK");
  // Children started by the program (exec of node or anything else) inherit the environment:
  // they are traced into <capture>.<pid> with --follow-fork, and left alone otherwise.
  if (!is_root && !follow_fork) return;
  static char child_output[4200];
  if (!is_root) {
    snprintf(child_output, sizeof(child_output), "%s.%d", output, static_cast<int>(getpid()));
    output = child_output;
  }
  const char* interval = getenv("MEMVIEW_SAMPLE_MS");
  memview::StartOptions options{output, env_flag("MEMVIEW_NATIVE"), follow_fork, !is_root,
                                static_cast<uint32_t>(interval ? atoi(interval) : 10)};
  if (memview::start_tracing(options) != 0) {
    fprintf(stderr, "memview: %s\n", memview_last_error());
  }
}

namespace {
__attribute__((constructor)) void start_at_load() { start_from_environment(); }
__attribute__((destructor)) void stop_at_exit() { stop_tracing("exit"); }
}  // namespace

}  // namespace memview
