#include "capture_files.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "proc_file.h"

namespace memview {
namespace {

// How many names after <root>.<pid> a child tries before it gives up.
constexpr int kMaxSuffix = 1000;

// A capture counts as the process's own when last written at most this long before the process
// began by the kernel's clock (file times come from a coarse clock that may lag by a few ms, and
// the start time is rounded down to a clock tick). Another process's capture is older by far: its
// pid had to go round all of pid_max first.
constexpr uint64_t kOwnMarginNs = 50ull * 1000 * 1000;

// The capture's descriptor is moved high, out of the way of programs that reuse low numbers
// (dup2 onto 3, 4... in a fork child before exec): the close hooks guard against closing it, not
// against a dup2 onto it. A failed open (-1) passes through.
int move_high(int fd) {
  if (fd < 0) return fd;
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur < 128) return fd;
  const rlim_t lowest = (limit.rlim_cur > 4096 ? 4096 : limit.rlim_cur) - 64;
  const int moved = fcntl(fd, F_DUPFD_CLOEXEC, static_cast<int>(lowest));
  if (moved < 0) return fd;
  syscall(SYS_close, fd);
  return moved;
}

uint64_t nanoseconds(const timespec& time) {
  return static_cast<uint64_t>(time.tv_sec) * 1000000000ull + static_cast<uint64_t>(time.tv_nsec);
}

// When this process began, on the realtime clock that file times use; 0 if unknown. Plain system
// calls only: a fork child of a threaded program runs this before anything else.
uint64_t process_start_realtime_ns() {
  char text[1024];
  if (read_proc_text("/proc/self/stat", text, sizeof(text)) == 0) return 0;
  // "pid (comm) state ppid ...": the command name may hold spaces and parentheses.
  const char* cursor = strrchr(text, ')');
  if (cursor == nullptr) return 0;
  // Field 22 is the start time, in clock ticks since boot.
  for (int field = 2; *cursor != 0 && field < 22; cursor++) {
    if (*cursor == ' ') field++;
  }
  if (*cursor < '0' || *cursor > '9') return 0;
  const uint64_t ticks = strtoull(cursor, nullptr, 10);
  const long ticks_per_second = sysconf(_SC_CLK_TCK);
  timespec real, boot;
  if (ticks_per_second <= 0 || clock_gettime(CLOCK_REALTIME, &real) != 0 || clock_gettime(CLOCK_BOOTTIME, &boot) != 0) return 0;
  const uint64_t since_boot = ticks * (1000000000ull / static_cast<uint64_t>(ticks_per_second));
  return nanoseconds(real) - nanoseconds(boot) + since_boot;
}

enum class Holder { kNone, kOwn, kOther };

// Whose capture is at `path`, for a process that began at `started` (0: unknown, taken as its own,
// as captures were before names could move on).
Holder holder_of(const char* path, uint64_t started) {
  struct stat info;
  if (stat(path, &info) != 0) return Holder::kNone;
  if (started == 0) return Holder::kOwn;
  return nanoseconds(info.st_mtim) + kOwnMarginNs >= started ? Holder::kOwn : Holder::kOther;
}

// Writes <base>.<n> into path (n > 1; n == 1 is the base itself); false when it does not fit.
bool name_with_suffix(char* path, size_t capacity, size_t base_length, int n) {
  if (n == 1) {
    path[base_length] = 0;
    return true;
  }
  const int written = snprintf(path + base_length, capacity - base_length, ".%d", n);
  return written > 0 && static_cast<size_t>(written) < capacity - base_length;
}

}  // namespace

int open_capture(const char* path) {
  return move_high(open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
}

int open_child_capture(char* path, size_t capacity) {
  const size_t base_length = strlen(path);
  const uint64_t started = process_start_realtime_ns();
  for (int n = 1; n <= kMaxSuffix; n++) {
    if (!name_with_suffix(path, capacity, base_length, n)) break;
    // Twice at most per name: another process may remove the file between the two calls.
    for (int attempt = 0; attempt < 2; attempt++) {
      const int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd >= 0) return move_high(fd);
      if (errno != EEXIST) return -1;
      const Holder holder = holder_of(path, started);
      if (holder == Holder::kOther) break;
      if (holder == Holder::kOwn) {
        return move_high(open(path, O_WRONLY | O_TRUNC | O_CLOEXEC));
      }
    }
  }
  path[base_length] = 0;
  errno = EEXIST;
  return -1;
}

void discard_own_child_capture(const char* path) {
  char name[4200];
  const size_t base_length = strlen(path);
  if (base_length >= sizeof(name)) return;
  memcpy(name, path, base_length + 1);
  const uint64_t started = process_start_realtime_ns();
  for (int n = 1; n <= kMaxSuffix; n++) {
    if (!name_with_suffix(name, sizeof(name), base_length, n)) return;
    const Holder holder = holder_of(name, started);
    if (holder == Holder::kNone) return;  // names are taken in order: none of its own after a gap
    if (holder == Holder::kOwn) {
      unlink(name);
      return;
    }
  }
}

}  // namespace memview
