#include "next_allocator.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <sched.h>

#include <atomic>
#include <cstdint>
#include <cstring>

#include "../core/exported_functions.h"

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

// A loaded object as dl_iterate_phdr reports it, in load order.
struct LoadedObject {
  const char* name;
  ElfW(Addr) base;
  const ElfW(Phdr)* headers;
  ElfW(Half) header_count;
};
constexpr int kMaxObjects = 256;

struct ObjectList {
  LoadedObject objects[kMaxObjects];
  int count;
};

int list_object(dl_phdr_info* info, size_t, void* data) {
  ObjectList* list = static_cast<ObjectList*>(data);
  if (list->count < kMaxObjects) list->objects[list->count++] = {info->dlpi_name, info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum};
  return 0;
}

bool holds(const LoadedObject& object, const void* address) {
  const uintptr_t at = reinterpret_cast<uintptr_t>(address);
  for (ElfW(Half) i = 0; i < object.header_count; i++) {
    const ElfW(Phdr)& header = object.headers[i];
    if (header.p_type == PT_LOAD && at - (object.base + header.p_vaddr) < header.p_memsz) return true;
  }
  return false;
}

}  // namespace

MallocOwner find_malloc_owner(void** handle) {
  *handle = nullptr;
  // Not dlsym(RTLD_DEFAULT, "malloc"): an executable that is not position-independent (node)
  // lists malloc as an undefined symbol at the address of its PLT slot, which dlsym returns.
  if (exported_function("malloc").end != 0) return MallocOwner::kExecutable;
  ObjectList list;
  list.count = 0;
  dl_iterate_phdr(list_object, &list);
  const void* own = reinterpret_cast<const void*>(&find_malloc_owner);
  // The executable comes first; then, in the order the dynamic linker searches them, the objects
  // loaded at start-up (preloads first) and those dlopen'ed later.
  for (int i = 1; i < list.count; i++) {
    const LoadedObject& object = list.objects[i];
    if (holds(object, own)) return MallocOwner::kMemview;
    if (object.name == nullptr || object.name[0] == 0 || strstr(object.name, "linux-vdso")) continue;
    void* opened = dlopen(object.name, RTLD_NOLOAD | RTLD_LAZY);
    if (opened == nullptr) continue;
    void* found = dlsym(opened, "malloc");  // this object's, or one of its dependencies'
    if (found != nullptr && holds(object, found)) {
      *handle = opened;
      return MallocOwner::kObject;
    }
    dlclose(opened);
  }
  return MallocOwner::kMemview;  // memview's library not found among them: as before, RTLD_NEXT
}

namespace {

// Where the program's own allocator is found: where its calls to malloc went before memview's
// hooks took them. Preloaded (`memview run`), memview's library is the first to define malloc, and
// the program's allocator is the definition after it: RTLD_NEXT (glibc's, or a jemalloc the user
// preloaded after memview's). Loaded late (the Tracker API), memview's library comes after libc
// and any preloaded allocator: RTLD_NEXT would skip a jemalloc for glibc, and glibc would be
// handed blocks jemalloc gave out before start() (a crash). *opened: a handle to close after the
// lookups.
void* program_allocator_scope(bool* opened) {
  void* handle;
  switch (find_malloc_owner(&handle)) {
    case MallocOwner::kExecutable:
      *opened = false;
      return RTLD_DEFAULT;
    case MallocOwner::kObject:
      *opened = true;
      return handle;
    case MallocOwner::kMemview:
      break;
  }
  *opened = false;
  return RTLD_NEXT;
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
  bool opened;
  void* scope = program_allocator_scope(&opened);
  use_allocator_found_in(scope);
  if (opened) dlclose(scope);
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
