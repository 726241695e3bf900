// The intercepted allocator entry points. Loaded first (LD_PRELOAD) they take precedence over
// libc's and libstdc++'s symbols in every object of the process. Each hook calls the real
// allocator (glibc's, or one preloaded after memview's: next_allocator.h; the raw system call for
// mappings), and, unless the thread is already inside memview, records the event. Hooks stay thin: state lives in the core.
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <linux/close_range.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <new>

#include "../core/record_format.h"
#include "../core/tracker.h"
#include "next_allocator.h"

using namespace memview;
namespace kind = memview::format;

namespace {

inline void* traced(uint8_t allocator, void* address, size_t size) {
  if (address != nullptr && should_trace()) {
    ReentrancyGuard guard;
    record_alloc(allocator, address, size);
  }
  return address;
}

inline void traced_free(uint8_t deallocator, void* address) {
  if (address != nullptr && should_trace()) {
    ReentrancyGuard guard;
    record_free(deallocator, address);
  }
  next_free(address);
}

// operator new's contract: retry through the new-handler, throw when there is none.
inline void* new_or_throw(size_t size, size_t alignment, bool nothrow) {
  if (size == 0) size = 1;
  while (true) {
    void* address = alignment ? next_memalign(alignment, size) : next_malloc(size);
    if (address) return address;
    std::new_handler handler = std::get_new_handler();
    if (!handler) {
      if (nothrow) return nullptr;
      throw std::bad_alloc();
    }
    handler();
  }
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) void* malloc(size_t size) {
  return traced(kind::kMalloc, next_malloc(size), size);
}

__attribute__((visibility("default"))) void free(void* address) { traced_free(kind::kFreeKind, address); }

__attribute__((visibility("default"))) void* calloc(size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  return traced(kind::kCalloc, next_calloc(count, size), total);
}

__attribute__((visibility("default"))) void* realloc(void* address, size_t size) {
  if (!should_trace()) return next_realloc(address, size);
  ReentrancyGuard guard;
  if (address == nullptr) {
    void* result = next_realloc(nullptr, size);
    if (result) record_alloc(kind::kReallocKind, result, size);
    return result;
  }
  return traced_realloc(address, size, g_next.realloc);
}

__attribute__((visibility("default"))) int posix_memalign(void** result, size_t alignment, size_t size) {
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0 || alignment == 0) return EINVAL;
  void* address = next_memalign(alignment, size);
  if (!address) return ENOMEM;
  *result = traced(kind::kPosixMemalign, address, size);
  return 0;
}

__attribute__((visibility("default"))) void* aligned_alloc(size_t alignment, size_t size) {
  return traced(kind::kAlignedAlloc, next_memalign(alignment, size), size);
}

__attribute__((visibility("default"))) void* memalign(size_t alignment, size_t size) {
  return traced(kind::kMemalign, next_memalign(alignment, size), size);
}

__attribute__((visibility("default"))) void* valloc(size_t size) {
  return traced(kind::kValloc, g_next.valloc(size), size);
}

__attribute__((visibility("default"))) void* pvalloc(size_t size) {
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return traced(kind::kPvalloc, g_next.pvalloc(size), (size + page - 1) & ~(page - 1));
}

// Declared with explicit symbol names: with _FILE_OFFSET_BITS=64 the headers rename mmap to mmap64.
void* hooked_mmap(void* address, size_t length, int protection, int flags, int fd, long offset) __asm__("mmap");
void* hooked_mmap64(void* address, size_t length, int protection, int flags, int fd, long offset) __asm__("mmap64");

__attribute__((visibility("default"))) void* hooked_mmap(void* address, size_t length, int protection, int flags, int fd,
                                                         long offset) {
  if (!should_trace_mapping()) return reinterpret_cast<void*>(syscall(SYS_mmap, address, length, protection, flags, fd, offset));
  ReentrancyGuard guard;
  return traced_mmap(address, length, protection, flags, fd, offset);
}

__attribute__((visibility("default"))) void* hooked_mmap64(void* address, size_t length, int protection, int flags,
                                                           int fd, long offset) {
  return hooked_mmap(address, length, protection, flags, fd, offset);
}

__attribute__((visibility("default"))) int munmap(void* address, size_t length) {
  if (!should_trace_mapping()) return static_cast<int>(syscall(SYS_munmap, address, length));
  ReentrancyGuard guard;
  return traced_munmap(address, length);
}

__attribute__((visibility("default"))) int mprotect(void* address, size_t length, int protection) {
  if (!should_trace_mapping()) return static_cast<int>(syscall(SYS_mprotect, address, length, protection));
  ReentrancyGuard guard;
  return traced_mprotect(address, length, protection);
}

__attribute__((visibility("default"))) void* mremap(void* old_address, size_t old_length, size_t new_length, int flags,
                                                    ...) {
  void* new_address = nullptr;
  if (flags & MREMAP_FIXED) {
    va_list arguments;
    va_start(arguments, flags);
    new_address = va_arg(arguments, void*);
    va_end(arguments);
  }
  if (!should_trace_mapping()) {
    return reinterpret_cast<void*>(syscall(SYS_mremap, old_address, old_length, new_length, flags, new_address));
  }
  ReentrancyGuard guard;
  return traced_mremap(old_address, old_length, new_length, flags, new_address);
}

// Programs that close every descriptor they did not open (Chromium's and crashpad's fork children
// before exec, daemons) would close the capture's: its writes then fail, or land in whatever file
// takes the number next. The capture's descriptor is close-on-exec, so an exec still drops it.
extern "C" int __close(int);
__attribute__((visibility("default"))) int close(int fd) {
  if (__builtin_expect(fd >= 0 && fd == capture_descriptor(), 0)) return 0;
  return __close(fd);
}

namespace {
int close_range_raw(unsigned first, unsigned last, int flags) {
  return static_cast<int>(syscall(SYS_close_range, first, last, flags));
}
}  // namespace

__attribute__((visibility("default"))) int close_range(unsigned first, unsigned last, int flags) {
  const int kept = capture_descriptor();
  // Unknown flags and empty ranges go to the kernel as they are, for its own error.
  if (kept < 0 || static_cast<unsigned>(kept) < first || static_cast<unsigned>(kept) > last ||
      (flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)) != 0) {
    return close_range_raw(first, last, flags);
  }
  if (first == last) {  // only the capture's: nothing to close, but the table may be unshared
    return (flags & CLOSE_RANGE_UNSHARE) ? static_cast<int>(syscall(SYS_unshare, CLONE_FILES)) : 0;
  }
  int result = 0;
  if (static_cast<unsigned>(kept) > first) result = close_range_raw(first, static_cast<unsigned>(kept) - 1, flags);
  if (result == 0 && static_cast<unsigned>(kept) < last) result = close_range_raw(static_cast<unsigned>(kept) + 1, last, flags);
  return result;
}

__attribute__((visibility("default"))) void closefrom(int lowest) {
  if (lowest < 0) lowest = 0;
  if (close_range(static_cast<unsigned>(lowest), ~0u, 0) == 0) return;
  // No close_range in this kernel (before 5.9): one by one, up to the descriptor limit (glibc
  // walks /proc/self/fd instead; a descriptor above a lowered limit stays open here).
  rlimit limit;
  const int end = getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 65536 ? static_cast<int>(limit.rlim_cur) : 65536;
  for (int fd = lowest; fd < end; fd++) close(fd);
}

// _exit() runs no atexit handler and no destructor, where the capture is finished: dash ends every
// script that way, and so do fork children after their work and Chromium's processes. Their
// captures had no symbols and no trailer, and `memview run` called them incomplete. (exit() calls
// libc's own _exit, past this hook, after the destructor has finished the capture.)
[[noreturn]] void exit_after_finishing(int status) {
  stop_tracing_before_exit_call();
  while (true) syscall(SYS_exit_group, status);
}
__attribute__((visibility("default"))) void _exit(int status) { exit_after_finishing(status); }
__attribute__((visibility("default"))) void _Exit(int status) { exit_after_finishing(status); }

__attribute__((visibility("default"))) void* dlopen(const char* file, int mode) {
  static void* (*real_dlopen)(const char*, int) = nullptr;
  if (!real_dlopen) {
    ReentrancyGuard guard;
    real_dlopen = reinterpret_cast<void* (*)(const char*, int)>(dlsym(RTLD_NEXT, "dlopen"));
  }
  void* handle = real_dlopen(file, mode);
  if (handle && should_trace()) {
    ReentrancyGuard guard;
    note_modules_changed();
  }
  return handle;
}

}  // extern "C"

// operator new/delete, every overload: libstdc++ has no frame pointers, so hooking malloc alone
// would lose the caller of new; hooking new directly keeps it.
__attribute__((visibility("default"))) void* operator new(size_t size) {
  return traced(kind::kNew, new_or_throw(size, 0, false), size);
}
__attribute__((visibility("default"))) void* operator new[](size_t size) {
  return traced(kind::kNewArray, new_or_throw(size, 0, false), size);
}
__attribute__((visibility("default"))) void* operator new(size_t size, const std::nothrow_t&) noexcept {
  return traced(kind::kNew, new_or_throw(size, 0, true), size);
}
__attribute__((visibility("default"))) void* operator new[](size_t size, const std::nothrow_t&) noexcept {
  return traced(kind::kNewArray, new_or_throw(size, 0, true), size);
}
__attribute__((visibility("default"))) void* operator new(size_t size, std::align_val_t alignment) {
  return traced(kind::kNew, new_or_throw(size, static_cast<size_t>(alignment), false), size);
}
__attribute__((visibility("default"))) void* operator new[](size_t size, std::align_val_t alignment) {
  return traced(kind::kNewArray, new_or_throw(size, static_cast<size_t>(alignment), false), size);
}
__attribute__((visibility("default"))) void* operator new(size_t size, std::align_val_t alignment,
                                                          const std::nothrow_t&) noexcept {
  return traced(kind::kNew, new_or_throw(size, static_cast<size_t>(alignment), true), size);
}
__attribute__((visibility("default"))) void* operator new[](size_t size, std::align_val_t alignment,
                                                            const std::nothrow_t&) noexcept {
  return traced(kind::kNewArray, new_or_throw(size, static_cast<size_t>(alignment), true), size);
}

__attribute__((visibility("default"))) void operator delete(void* address) noexcept { traced_free(kind::kDelete, address); }
__attribute__((visibility("default"))) void operator delete[](void* address) noexcept {
  traced_free(kind::kDeleteArray, address);
}
__attribute__((visibility("default"))) void operator delete(void* address, size_t) noexcept {
  traced_free(kind::kDelete, address);
}
__attribute__((visibility("default"))) void operator delete[](void* address, size_t) noexcept {
  traced_free(kind::kDeleteArray, address);
}
__attribute__((visibility("default"))) void operator delete(void* address, const std::nothrow_t&) noexcept {
  traced_free(kind::kDelete, address);
}
__attribute__((visibility("default"))) void operator delete[](void* address, const std::nothrow_t&) noexcept {
  traced_free(kind::kDeleteArray, address);
}
__attribute__((visibility("default"))) void operator delete(void* address, std::align_val_t) noexcept {
  traced_free(kind::kDelete, address);
}
__attribute__((visibility("default"))) void operator delete[](void* address, std::align_val_t) noexcept {
  traced_free(kind::kDeleteArray, address);
}
__attribute__((visibility("default"))) void operator delete(void* address, size_t, std::align_val_t) noexcept {
  traced_free(kind::kDelete, address);
}
__attribute__((visibility("default"))) void operator delete[](void* address, size_t, std::align_val_t) noexcept {
  traced_free(kind::kDeleteArray, address);
}
__attribute__((visibility("default"))) void operator delete(void* address, std::align_val_t,
                                                            const std::nothrow_t&) noexcept {
  traced_free(kind::kDelete, address);
}
__attribute__((visibility("default"))) void operator delete[](void* address, std::align_val_t,
                                                              const std::nothrow_t&) noexcept {
  traced_free(kind::kDeleteArray, address);
}

// ---- tracing that starts late (Tracker API): redirect loaded objects to these hooks ----------

#include "../core/got_patch.h"

namespace memview {

static const char* const kHookedSymbols[] = {
    "malloc", "free", "calloc", "realloc", "posix_memalign", "aligned_alloc", "memalign", "valloc", "pvalloc",
    "mmap", "mmap64", "munmap", "mprotect", "mremap", "dlopen", "close", "close_range", "closefrom",
    "_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t", "_ZnwmSt11align_val_t", "_ZnamSt11align_val_t",
    "_ZnwmSt11align_val_tRKSt9nothrow_t", "_ZnamSt11align_val_tRKSt9nothrow_t",
    "_ZdlPv", "_ZdaPv", "_ZdlPvm", "_ZdaPvm", "_ZdlPvRKSt9nothrow_t", "_ZdaPvRKSt9nothrow_t",
    "_ZdlPvSt11align_val_t", "_ZdaPvSt11align_val_t", "_ZdlPvmSt11align_val_t", "_ZdaPvmSt11align_val_t",
    "_ZdlPvSt11align_val_tRKSt9nothrow_t", "_ZdaPvSt11align_val_tRKSt9nothrow_t"};

// Whether the program's calls already come here: memview's library is the first to define malloc.
// (Comparing dlsym(RTLD_DEFAULT, "malloc") with this library's said no under `memview run` too:
// for node, dlsym returns the executable's PLT slot. Every traced node then had its loaded objects'
// GOTs rewritten at start, and again at every dlopen.)
bool hooks_are_preloaded() {
  void* handle;
  const MallocOwner owner = find_malloc_owner(&handle);
  if (handle != nullptr) dlclose(handle);
  return owner == MallocOwner::kMemview;
}

void redirect_loaded_objects() {
  Dl_info own;
  if (!dladdr(reinterpret_cast<void*>(&redirect_loaded_objects), &own)) return;
  void* self = dlopen(own.dli_fname, RTLD_NOW | RTLD_NOLOAD);
  if (!self) return;
  constexpr int kCount = sizeof(kHookedSymbols) / sizeof(kHookedSymbols[0]);
  HookEntry entries[kCount];
  int used = 0;
  for (int i = 0; i < kCount; i++) {
    void* hook = dlsym(self, kHookedSymbols[i]);
    if (hook) entries[used++] = {kHookedSymbols[i], hook};
  }
  patch_loaded_objects(entries, used);
  dlclose(self);
}

}  // namespace memview
