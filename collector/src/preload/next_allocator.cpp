#include "next_allocator.h"

#include <dlfcn.h>
#include <sched.h>

#include <atomic>

namespace memview {
namespace {

enum : int { kUnresolved, kResolving, kResolved };
std::atomic<int> g_state{kUnresolved};
__thread bool t_resolving __attribute__((tls_model("initial-exec"))) = false;

template <typename Function>
Function found_or(void* scope, const char* name, Function glibc) {
  void* found = dlsym(scope, name);
  return found != nullptr ? reinterpret_cast<Function>(found) : glibc;
}

void use_allocator_found_in(void* scope) {
  NextAllocator found = {
      found_or(scope, "malloc", __libc_malloc),     found_or(scope, "calloc", __libc_calloc),
      found_or(scope, "realloc", __libc_realloc),   found_or(scope, "free", __libc_free),
      found_or(scope, "memalign", __libc_memalign), found_or(scope, "valloc", __libc_valloc),
      found_or(scope, "pvalloc", __libc_pvalloc),
  };
  g_next = found;
  g_next_is_glibc = found.malloc == __libc_malloc && found.calloc == __libc_calloc && found.realloc == __libc_realloc &&
                    found.free == __libc_free && found.memalign == __libc_memalign && found.valloc == __libc_valloc &&
                    found.pvalloc == __libc_pvalloc;
}

// True once g_next holds the allocator to use; false for a call made by dlsym while this thread
// resolves (it then goes to glibc).
bool resolve() {
  if (g_state.load(std::memory_order_acquire) == kResolved) return true;
  if (t_resolving) return false;
  int expected = kUnresolved;
  if (!g_state.compare_exchange_strong(expected, kResolving, std::memory_order_acq_rel)) {
    while (g_state.load(std::memory_order_acquire) != kResolved) sched_yield();  // another thread resolves
    return true;
  }
  t_resolving = true;
  use_allocator_found_in(RTLD_NEXT);
  t_resolving = false;
  g_state.store(kResolved, std::memory_order_release);
  return true;
}

void* resolving_malloc(size_t size) { return resolve() ? g_next.malloc(size) : __libc_malloc(size); }
void* resolving_calloc(size_t count, size_t size) {
  return resolve() ? g_next.calloc(count, size) : __libc_calloc(count, size);
}
void* resolving_realloc(void* address, size_t size) {
  return resolve() ? g_next.realloc(address, size) : __libc_realloc(address, size);
}
void resolving_free(void* address) { resolve() ? g_next.free(address) : __libc_free(address); }
void* resolving_memalign(size_t alignment, size_t size) {
  return resolve() ? g_next.memalign(alignment, size) : __libc_memalign(alignment, size);
}
void* resolving_valloc(size_t size) { return resolve() ? g_next.valloc(size) : __libc_valloc(size); }
void* resolving_pvalloc(size_t size) { return resolve() ? g_next.pvalloc(size) : __libc_pvalloc(size); }

}  // namespace

bool g_next_is_glibc = false;  // until resolved: the first call goes through a stub
NextAllocator g_next = {resolving_malloc, resolving_calloc, resolving_realloc, resolving_free,
                        resolving_memalign, resolving_valloc, resolving_pvalloc};

}  // namespace memview
