// The allocator memview's hooks hand every call to. glibc's, unless a library preloaded after
// memview's defines its own (jemalloc or tcmalloc in the user's LD_PRELOAD, which `memview run`
// places after its library): that one is found with dlsym(RTLD_NEXT) and keeps serving the
// program, which would otherwise run on glibc's malloc while traced and free its blocks there.
//
// Resolved at the first call of any of them, before that call allocates anything: each entry
// starts at a stub that resolves them all, then forwards. dlsym may itself allocate; calls made
// while this thread resolves go to glibc (and are freed there, through the stubs).
#pragma once
#include <cstddef>

namespace memview {

struct NextAllocator {
  void* (*malloc)(size_t);
  void* (*calloc)(size_t, size_t);
  void* (*realloc)(void*, size_t);
  void (*free)(void*);
  void* (*memalign)(size_t, size_t);
  void* (*valloc)(size_t);
  void* (*pvalloc)(size_t);
};

extern NextAllocator g_next;

/** Which object the program's calls to malloc go to, by the dynamic linker's search order. */
enum class MallocOwner {
  kExecutable,  // the executable defines its own (Chromium's PartitionAlloc)
  kMemview,     // memview's library: it was preloaded
  kObject,      // a shared object before memview's: libc, or a preloaded jemalloc (memview loaded late)
};
/** The owner; for kObject, *handle is that object's (dlopen'ed without loading; dlclose it). */
MallocOwner find_malloc_owner(void** handle);
// True once the entries are known to be glibc's own (no allocator preloaded after memview's): the
// hooks then call glibc directly, as cheaply as before there was a choice (an indirect call per
// hook cost the allocation storm 6-9%).
extern bool g_next_is_glibc;

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void __libc_free(void*);
void* __libc_memalign(size_t, size_t);
void* __libc_valloc(size_t);
void* __libc_pvalloc(size_t);
}

inline void* next_malloc(size_t size) {
  return __builtin_expect(g_next_is_glibc, 1) ? __libc_malloc(size) : g_next.malloc(size);
}
inline void* next_calloc(size_t count, size_t size) {
  return __builtin_expect(g_next_is_glibc, 1) ? __libc_calloc(count, size) : g_next.calloc(count, size);
}
inline void* next_realloc(void* address, size_t size) {
  return __builtin_expect(g_next_is_glibc, 1) ? __libc_realloc(address, size) : g_next.realloc(address, size);
}
inline void next_free(void* address) {
  if (__builtin_expect(g_next_is_glibc, 1)) __libc_free(address);
  else g_next.free(address);
}
inline void* next_memalign(size_t alignment, size_t size) {
  return __builtin_expect(g_next_is_glibc, 1) ? __libc_memalign(alignment, size) : g_next.memalign(alignment, size);
}

}  // namespace memview
