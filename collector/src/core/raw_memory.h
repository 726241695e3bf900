// Memory for the collector's own tables, taken straight from the kernel with the raw mmap system
// call: it never enters the allocator being traced and never shows up in the capture.
#pragma once
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>

namespace memview {

inline void* raw_allocate(size_t size) {
  long result = syscall(SYS_mmap, nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (result == -1) abort();  // out of memory inside the profiler itself: nothing sensible is left to do
  return reinterpret_cast<void*>(result);
}

// The same, with every page present from the start, for hash tables. Their probes read a slot
// before writing it, and a page first read is the shared zero page: the write that follows
// replaces it, which flushes the TLB of every CPU the process runs on (an IPI per page, ~20 ms
// of a short program's start-up). Hashed slots touch every page soon anyway.
inline void* raw_allocate_populated(size_t size) {
  long result = syscall(SYS_mmap, nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (result == -1) abort();
  return reinterpret_cast<void*>(result);
}

inline void raw_release(void* memory, size_t size) { syscall(SYS_munmap, memory, size); }

}  // namespace memview
