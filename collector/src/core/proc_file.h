// Reads a small /proc file whole, with plain system calls: callers run where malloc is not
// allowed (under the core's lock, before tracing is set up, inside a program's own allocator).
#pragma once
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>

namespace memview {

/** Up to `capacity` bytes of the file at `path` into `buffer`; how many were read (0 on error). */
inline size_t read_proc_file(const char* path, char* buffer, size_t capacity) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  size_t filled = 0;
  while (filled < capacity) {
    ssize_t length = read(fd, buffer + filled, capacity - filled);
    if (length > 0) filled += static_cast<size_t>(length);
    else if (length == 0 || errno != EINTR) break;
  }
  close(fd);
  return filled;
}

/** The same as text: at most `size - 1` bytes, then a NUL; how many were read (0 on error). */
inline size_t read_proc_text(const char* path, char* text, size_t size) {
  const size_t length = read_proc_file(path, text, size - 1);
  text[length] = 0;
  return length;
}

}  // namespace memview
