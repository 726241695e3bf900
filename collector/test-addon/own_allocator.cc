// A program with its own allocator, built the way Chromium's PartitionAlloc is: it defines the
// malloc family and operator new/delete, so its definitions serve every object of the process, memview's preload
// included, and it maps and commits its arenas (mmap, mprotect, munmap) while holding its lock.
// memview sees those mappings through its hooks, from inside this allocator; if memview ever
// called malloc while a thread inside here waits for memview, both would hang. Re-entering the
// allocator from the thread that holds its lock aborts at once, so a hang becomes a crash.
//
// What it does, for collector tests (test/collector/own-allocator.test.ts):
//   - threads that start short-lived threads with new names and allocate from them (new stacks
//     and new strings for memview, arenas growing under the allocator's lock);
//   - mappings of exactly 1, 2 and 3 MiB, then an unmap of the 2 MiB one; prints their addresses;
//   - a fork child that closes every descriptor it did not open (as Chromium's and crashpad's do
//     before exec; one by one, or with close_range or closefrom as argv[1] says: each, range,
//     from), reuses the low numbers, maps 4 MiB and ends with _exit;
//   - mappings made from a frame of generated code, found in no loaded object (JIT code);
//   - under memview, its allocator aborts when memview calls it while holding memview's lock.
// Prints one JSON line: {"one":..,"two":..,"three":..,"child":pid,"childFour":..,"childStatus":..}.
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace {

// ---- the allocator -----------------------------------------------------------------------------

constexpr size_t kHeader = 16;                // before every block: its size class or mapping size
constexpr size_t kSmallest = 16;
constexpr int kClasses = 17;                  // 16 B .. 1 MiB
constexpr size_t kArenaReserve = 8u << 20;    // reserved PROT_NONE, committed 256 KiB at a time
constexpr size_t kCommitStep = 256u << 10;
constexpr uint32_t kDirectMap = 0xffffffffu;  // a block mapped on its own

struct Header {
  uint32_t size_class;
  uint32_t offset;    // from the start of the underlying block to the user pointer (aligned blocks)
  uint64_t size;      // usable bytes, or the mapping's length for a direct map
};

struct FreeBlock {
  FreeBlock* next;
};

std::atomic<int> g_owner{0};  // tid holding the lock, 0 when free
// memview's memview_holds_core_lock when it is loaded (looked up in main, before any thread):
// memview must never call this allocator while it holds its own lock.
std::atomic<int (*)()> g_memview_holds_lock{nullptr};
FreeBlock* g_free[kClasses];
uint8_t* g_arena = nullptr;
size_t g_arena_committed = 0;
size_t g_arena_used = 0;

int current_tid() { return static_cast<int>(syscall(SYS_gettid)); }

void die(const char* message) {
  ssize_t ignored = write(2, message, strlen(message));
  (void)ignored;
  abort();
}

void lock_allocator() {
  int (*holds)() = g_memview_holds_lock.load(std::memory_order_relaxed);
  if (holds != nullptr && holds()) die("own_allocator: memview called the allocator while holding its own lock\n");
  const int self = current_tid();
  int expected = 0;
  while (!g_owner.compare_exchange_weak(expected, self, std::memory_order_acquire)) {
    if (expected == self) die("own_allocator: the allocator was entered again by the thread holding its lock\n");
    expected = 0;
    sched_yield();
  }
}

void unlock_allocator() { g_owner.store(0, std::memory_order_release); }

int class_of(size_t size) {
  int size_class = 0;
  size_t capacity = kSmallest;
  while (capacity < size) {
    capacity <<= 1;
    size_class++;
  }
  return size_class;
}

// Carves `bytes` from the arena, reserving and committing as it grows: under the lock, like
// PartitionAlloc's super pages.
uint8_t* carve_locked(size_t bytes) {
  if (g_arena == nullptr || g_arena_used + bytes > kArenaReserve) {
    void* reserved = mmap(nullptr, kArenaReserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (reserved == MAP_FAILED) return nullptr;
    g_arena = static_cast<uint8_t*>(reserved);
    g_arena_committed = 0;
    g_arena_used = 0;
  }
  while (g_arena_used + bytes > g_arena_committed) {
    if (mprotect(g_arena + g_arena_committed, kCommitStep, PROT_READ | PROT_WRITE) != 0) return nullptr;
    g_arena_committed += kCommitStep;
  }
  uint8_t* block = g_arena + g_arena_used;
  g_arena_used += bytes;
  return block;
}

void* allocate(size_t size) {
  if (size == 0) size = 1;
  const size_t with_header = size + kHeader;
  lock_allocator();
  uint8_t* block;
  Header header;
  if (with_header > (kSmallest << (kClasses - 1))) {
    const size_t length = (with_header + 4095) & ~size_t{4095};
    void* mapped = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    block = mapped == MAP_FAILED ? nullptr : static_cast<uint8_t*>(mapped);
    header = {kDirectMap, 0, length};
  } else {
    const int size_class = class_of(with_header);
    if (g_free[size_class] != nullptr) {
      block = reinterpret_cast<uint8_t*>(g_free[size_class]);
      g_free[size_class] = g_free[size_class]->next;
    } else {
      block = carve_locked(kSmallest << size_class);
    }
    header = {static_cast<uint32_t>(size_class), 0, (kSmallest << size_class) - kHeader};
  }
  unlock_allocator();
  if (block == nullptr) {
    errno = ENOMEM;
    return nullptr;
  }
  memcpy(block, &header, sizeof(header));
  return block + kHeader;
}

const Header* header_of(const void* pointer) {
  return reinterpret_cast<const Header*>(static_cast<const uint8_t*>(pointer) - kHeader);
}

void release(void* pointer) {
  if (pointer == nullptr) return;
  Header header = *header_of(pointer);
  uint8_t* block = static_cast<uint8_t*>(pointer) - kHeader - header.offset;
  if (header.offset != 0) header = *reinterpret_cast<const Header*>(block);  // an aligned block
  lock_allocator();
  if (header.size_class == kDirectMap) {
    munmap(block, header.size);
  } else {
    FreeBlock* freed = reinterpret_cast<FreeBlock*>(block);
    freed->next = g_free[header.size_class];
    g_free[header.size_class] = freed;
  }
  unlock_allocator();
}

size_t usable_size(const void* pointer) {
  const Header* header = header_of(pointer);
  if (header->offset != 0) return header->size;
  return header->size_class == kDirectMap ? header->size - kHeader : header->size;
}

void* allocate_aligned(size_t alignment, size_t size) {
  if (alignment <= kHeader) return allocate(size);
  uint8_t* base = static_cast<uint8_t*>(allocate(size + alignment + kHeader));
  if (base == nullptr) return nullptr;
  uint8_t* start = base - kHeader;
  uintptr_t user = (reinterpret_cast<uintptr_t>(base) + kHeader + alignment - 1) & ~(alignment - 1);
  Header header = {0, static_cast<uint32_t>(user - kHeader - reinterpret_cast<uintptr_t>(start)), size};
  memcpy(reinterpret_cast<void*>(user - kHeader), &header, sizeof(header));
  return reinterpret_cast<void*>(user);
}

}  // namespace

extern "C" {
__attribute__((visibility("default"))) void* malloc(size_t size) { return allocate(size); }
__attribute__((visibility("default"))) void free(void* pointer) { release(pointer); }
__attribute__((visibility("default"))) void* calloc(size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  void* pointer = allocate(total);
  if (pointer) memset(pointer, 0, total);
  return pointer;
}
__attribute__((visibility("default"))) void* realloc(void* pointer, size_t size) {
  if (pointer == nullptr) return allocate(size);
  if (size == 0) {
    release(pointer);
    return nullptr;
  }
  const size_t old_size = usable_size(pointer);
  if (size <= old_size) return pointer;
  void* moved = allocate(size);
  if (moved == nullptr) return nullptr;
  memcpy(moved, pointer, old_size);
  release(pointer);
  return moved;
}
__attribute__((visibility("default"))) void* memalign(size_t alignment, size_t size) { return allocate_aligned(alignment, size); }
__attribute__((visibility("default"))) void* aligned_alloc(size_t alignment, size_t size) { return allocate_aligned(alignment, size); }
__attribute__((visibility("default"))) int posix_memalign(void** result, size_t alignment, size_t size) {
  void* pointer = allocate_aligned(alignment, size);
  if (pointer == nullptr) return ENOMEM;
  *result = pointer;
  return 0;
}
__attribute__((visibility("default"))) void* valloc(size_t size) { return allocate_aligned(4096, size); }
__attribute__((visibility("default"))) void* pvalloc(size_t size) { return allocate_aligned(4096, (size + 4095) & ~size_t{4095}); }
__attribute__((visibility("default"))) size_t malloc_usable_size(void* pointer) { return pointer ? usable_size(pointer) : 0; }
}

// operator new and delete too, as Chromium exports them: the C++ containers of every object,
// memview's included, then come here.
__attribute__((visibility("default"))) void* operator new(size_t size) {
  void* pointer = allocate(size);
  if (pointer == nullptr) throw std::bad_alloc();
  return pointer;
}
__attribute__((visibility("default"))) void* operator new[](size_t size) { return operator new(size); }
__attribute__((visibility("default"))) void* operator new(size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
__attribute__((visibility("default"))) void* operator new[](size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
__attribute__((visibility("default"))) void* operator new(size_t size, std::align_val_t alignment) {
  void* pointer = allocate_aligned(static_cast<size_t>(alignment), size);
  if (pointer == nullptr) throw std::bad_alloc();
  return pointer;
}
__attribute__((visibility("default"))) void* operator new[](size_t size, std::align_val_t alignment) {
  return operator new(size, alignment);
}
__attribute__((visibility("default"))) void operator delete(void* pointer) noexcept { release(pointer); }
__attribute__((visibility("default"))) void operator delete[](void* pointer) noexcept { release(pointer); }
__attribute__((visibility("default"))) void operator delete(void* pointer, size_t) noexcept { release(pointer); }
__attribute__((visibility("default"))) void operator delete[](void* pointer, size_t) noexcept { release(pointer); }
__attribute__((visibility("default"))) void operator delete(void* pointer, std::align_val_t) noexcept { release(pointer); }
__attribute__((visibility("default"))) void operator delete[](void* pointer, std::align_val_t) noexcept { release(pointer); }
__attribute__((visibility("default"))) void operator delete(void* pointer, size_t, std::align_val_t) noexcept { release(pointer); }
__attribute__((visibility("default"))) void operator delete[](void* pointer, size_t, std::align_val_t) noexcept { release(pointer); }

// ---- the program -------------------------------------------------------------------------------

namespace {

constexpr int kStarters = 4;
constexpr int kThreadsEach = 60;
constexpr size_t kMiB = 1u << 20;

void* short_lived(void* argument) {
  const uintptr_t seed = reinterpret_cast<uintptr_t>(argument);
  // Named before its first event: memview then has a new name to write, from inside that event.
  char name[16];
  snprintf(name, sizeof(name), "short-%lu", static_cast<unsigned long>(seed));
  pthread_setname_np(pthread_self(), name);
  void* blocks[64];
  for (int i = 0; i < 64; i++) blocks[i] = malloc(16 + (seed * 131 + static_cast<uintptr_t>(i) * 977) % 3000);
  for (int i = 0; i < 16; i++) free(malloc(2 * kMiB));  // mappings of their own, made and unmade under the lock
  for (int i = 0; i < 64; i++) free(blocks[i]);
  return nullptr;
}

void* starter(void* argument) {
  const int index = static_cast<int>(reinterpret_cast<intptr_t>(argument));
  for (int i = 0; i < kThreadsEach; i++) {
    pthread_t thread;
    if (pthread_create(&thread, nullptr, short_lived, reinterpret_cast<void*>(static_cast<uintptr_t>(index * 1000 + i))) != 0) {
      die("own_allocator: pthread_create failed\n");
    }
    pthread_join(thread, nullptr);
  }
  return nullptr;
}

void* map_exactly(size_t length) {
  void* mapped = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED) die("own_allocator: mmap failed\n");
  memset(mapped, 1, length);
  return mapped;
}

// Calls `target` through a few bytes of machine code in an anonymous mapping, as JIT code would:
// a frame memview finds in no loaded object (with frame pointers, so its walk goes through).
void call_through_generated_code(void (*target)()) {
  static const uint8_t kPrologue[] = {0x55, 0x48, 0x89, 0xe5, 0x48, 0xb8};  // push rbp; mov rbp,rsp; movabs rax,
  static const uint8_t kEpilogue[] = {0xff, 0xd0, 0x5d, 0xc3};              // call rax; pop rbp; ret
  void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) die("own_allocator: mmap failed\n");
  uint8_t* code = static_cast<uint8_t*>(page);
  memcpy(code, kPrologue, sizeof(kPrologue));
  const uint64_t address = reinterpret_cast<uint64_t>(target);
  memcpy(code + sizeof(kPrologue), &address, sizeof(address));
  memcpy(code + sizeof(kPrologue) + sizeof(address), kEpilogue, sizeof(kEpilogue));
  if (mprotect(page, 4096, PROT_READ | PROT_EXEC) != 0) die("own_allocator: mprotect failed\n");
  reinterpret_cast<void (*)()>(page)();
  munmap(page, 4096);
}

void map_and_unmap() { munmap(mmap(nullptr, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), 65536); }

enum class Closing { kEach, kRange, kFrom };

// The fork child: closes what it did not open (one by one, with close_range, or with closefrom),
// takes the low numbers again, maps 4 MiB, _exit.
[[noreturn]] void child_main(int report, Closing closing) {
  // The report pipe is moved to 3 first, so that everything above it can go at once.
  if (report != 3) {
    if (dup2(report, 3) != 3) _exit(4);
    close(report);
    report = 3;
  }
  if (closing == Closing::kRange) {
    if (close_range(4, ~0u, 0) != 0) _exit(5);
  } else if (closing == Closing::kFrom) {
    closefrom(4);
  } else {
    rlimit limit;
    const int end = getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 65536 ? static_cast<int>(limit.rlim_cur) : 65536;
    for (int fd = 4; fd < end; fd++) close(fd);
  }
  for (int i = 0; i < 8; i++) open("/dev/null", O_WRONLY);
  void* four = map_exactly(4 * kMiB);
  void* blocks[256];
  for (int i = 0; i < 256; i++) blocks[i] = malloc(100 + i);
  for (int i = 0; i < 256; i++) free(blocks[i]);
  char line[64];
  int length = snprintf(line, sizeof(line), "%lu", static_cast<unsigned long>(reinterpret_cast<uintptr_t>(four)));
  if (write(report, line, static_cast<size_t>(length)) != length) _exit(3);
  _exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  const char* how = argc > 1 ? argv[1] : "each";
  const Closing closing = strcmp(how, "range") == 0 ? Closing::kRange : strcmp(how, "from") == 0 ? Closing::kFrom : Closing::kEach;
  g_memview_holds_lock.store(reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "memview_holds_core_lock")));
  for (int i = 0; i < 3; i++) call_through_generated_code(map_and_unmap);
  pthread_t starters[kStarters];
  for (int i = 0; i < kStarters; i++) pthread_create(&starters[i], nullptr, starter, reinterpret_cast<void*>(static_cast<intptr_t>(i)));
  for (int i = 0; i < kStarters; i++) pthread_join(starters[i], nullptr);

  void* one = map_exactly(kMiB);
  void* two = map_exactly(2 * kMiB);
  void* three = map_exactly(3 * kMiB);
  munmap(two, 2 * kMiB);

  int pipe_ends[2];
  if (pipe(pipe_ends) != 0) die("own_allocator: pipe failed\n");
  const pid_t child = fork();
  if (child < 0) die("own_allocator: fork failed\n");
  if (child == 0) {
    close(pipe_ends[0]);
    child_main(pipe_ends[1], closing);
  }
  close(pipe_ends[1]);
  char child_four[64] = {0};
  ssize_t got = read(pipe_ends[0], child_four, sizeof(child_four) - 1);
  if (got < 0) got = 0;
  child_four[got] = 0;
  int status = 0;
  waitpid(child, &status, 0);
  printf("{\"one\":%lu,\"two\":%lu,\"three\":%lu,\"child\":%d,\"childFour\":%s,\"childStatus\":%d}\n",
         static_cast<unsigned long>(reinterpret_cast<uintptr_t>(one)), static_cast<unsigned long>(reinterpret_cast<uintptr_t>(two)),
         static_cast<unsigned long>(reinterpret_cast<uintptr_t>(three)), static_cast<int>(child), got > 0 ? child_four : "0",
         WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  munmap(one, kMiB);
  munmap(three, 3 * kMiB);
  return 0;
}
