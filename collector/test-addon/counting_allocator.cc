// An allocator a user preloads (the way jemalloc or tcmalloc is put in LD_PRELOAD): it defines the
// malloc family, counts the calls it serves and hands them to glibc. Under `memview run` it comes
// after memview's library, and memview's hooks must hand it every call (test/collector/
// allocators.test.ts reads the count through memview_test_counting_allocator_calls).
#include <errno.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void __libc_free(void*);
void* __libc_memalign(size_t, size_t);
void* __libc_valloc(size_t);
void* __libc_pvalloc(size_t);
}

namespace {
std::atomic<uint64_t> g_calls{0};
inline void count() { g_calls.fetch_add(1, std::memory_order_relaxed); }
}  // namespace

extern "C" {
__attribute__((visibility("default"))) uint64_t memview_test_counting_allocator_calls() { return g_calls.load(); }
__attribute__((visibility("default"))) void* malloc(size_t size) { count(); return __libc_malloc(size); }
__attribute__((visibility("default"))) void* calloc(size_t n, size_t size) { count(); return __libc_calloc(n, size); }
__attribute__((visibility("default"))) void* realloc(void* p, size_t size) { count(); return __libc_realloc(p, size); }
__attribute__((visibility("default"))) void free(void* p) { count(); __libc_free(p); }
__attribute__((visibility("default"))) void* memalign(size_t a, size_t size) { count(); return __libc_memalign(a, size); }
__attribute__((visibility("default"))) void* aligned_alloc(size_t a, size_t size) { count(); return __libc_memalign(a, size); }
__attribute__((visibility("default"))) int posix_memalign(void** out, size_t a, size_t size) {
  count();
  void* p = __libc_memalign(a, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
__attribute__((visibility("default"))) void* valloc(size_t size) { count(); return __libc_valloc(size); }
__attribute__((visibility("default"))) void* pvalloc(size_t size) { count(); return __libc_pvalloc(size); }
}
