// A test-only addon that calls every traced allocator entry point directly with sizes the tests
// choose, and returns the addresses, so tests can find their exact events in a capture among
// node's own allocations.
#include <napi.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <new>
#include <memory>
#include <vector>

#include <algorithm>
#include <string>
#include <dlfcn.h>
#include <link.h>
#include "../src/core/exported_functions.h"
#include "../src/core/dwarf_lines.h"
#include "../src/core/elf_symbols.h"
#include "../src/core/deflate_raw.h"
#include "../src/core/deferred_code.h"
#include "../src/core/reused_code.h"
#include "../src/core/stack_trie.h"

namespace {

uint64_t address_of(const Napi::Value& value) {
  bool lossless;
  return value.As<Napi::BigInt>().Uint64Value(&lossless);
}
size_t size_of(const Napi::Value& value) { return static_cast<size_t>(value.As<Napi::Number>().Int64Value()); }
Napi::Value result(Napi::Env env, void* address) { return Napi::BigInt::New(env, reinterpret_cast<uint64_t>(address)); }

// Each allocator behind noinline so the compiler cannot merge or drop the calls.
#define ALLOCATOR(js_name, expression)                                  \
  __attribute__((noinline)) Napi::Value js_name(const Napi::CallbackInfo& info) { \
    Napi::Env env = info.Env();                                          \
    return result(env, (expression));                                    \
  }

ALLOCATOR(Malloc, malloc(size_of(info[0])))
ALLOCATOR(Calloc, calloc(size_of(info[0]), size_of(info[1])))
ALLOCATOR(Realloc, realloc(reinterpret_cast<void*>(address_of(info[0])), size_of(info[1])))
ALLOCATOR(AlignedAlloc, aligned_alloc(size_of(info[0]), size_of(info[1])))
ALLOCATOR(Memalign, memalign(size_of(info[0]), size_of(info[1])))
ALLOCATOR(Valloc, valloc(size_of(info[0])))
ALLOCATOR(Pvalloc, pvalloc(size_of(info[0])))
ALLOCATOR(NewScalar, ::operator new(size_of(info[0])))
ALLOCATOR(NewArray, ::operator new[](size_of(info[0])))
ALLOCATOR(NewAligned, ::operator new(size_of(info[0]), std::align_val_t(64)))
ALLOCATOR(Mmap, mmap(nullptr, size_of(info[0]), info[1].As<Napi::Number>().Int32Value(), MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
ALLOCATOR(Mremap, mremap(reinterpret_cast<void*>(address_of(info[0])), size_of(info[1]), size_of(info[2]), MREMAP_MAYMOVE))

}  // namespace

// malloc(size) called with rbp = frame_pointer, as from code built without frame pointers, where
// rbp is an ordinary register: memview's stack walk must not follow it off the stack.
extern "C" void* memview_test_malloc_with_rbp(size_t size, uint64_t frame_pointer);
asm(R"(
  .text
  .globl memview_test_malloc_with_rbp
  .hidden memview_test_malloc_with_rbp
  .type memview_test_malloc_with_rbp, @function
memview_test_malloc_with_rbp:
  push %rbp
  push %rbx
  sub $8, %rsp
  mov %rsi, %rbp
  call malloc@PLT
  add $8, %rsp
  pop %rbx
  pop %rbp
  ret
  .size memview_test_malloc_with_rbp, .-memview_test_malloc_with_rbp
)");

// The same on another stack whose top is `stack_top`, as a signal handler on its alternate stack
// or a fiber runs: the walk's bounds must not then stretch from there to the thread's own stack.
extern "C" void* memview_test_malloc_on_stack(size_t size, uint64_t frame_pointer, uint64_t stack_top);
asm(R"(
  .text
  .globl memview_test_malloc_on_stack
  .hidden memview_test_malloc_on_stack
  .type memview_test_malloc_on_stack, @function
memview_test_malloc_on_stack:
  push %rbp
  push %rbx
  mov %rsp, %rbx
  mov %rdx, %rsp
  mov %rsi, %rbp
  call malloc@PLT
  mov %rbx, %rsp
  pop %rbx
  pop %rbp
  ret
  .size memview_test_malloc_on_stack, .-memview_test_malloc_on_stack
)");

namespace {

// malloc(size) from a 64 KiB stack on the heap, with rbp pointing at a page that cannot be read
// (between the heap and the thread's stack, where the bounds of a walk started on the heap reach).
Napi::Value MallocOnHeapStack(const Napi::CallbackInfo& info) {
  const size_t stack_size = 64 * 1024;
  uint8_t* stack = static_cast<uint8_t*>(malloc(stack_size));
  void* unreadable = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  const uint64_t top = (reinterpret_cast<uint64_t>(stack) + stack_size) & ~uint64_t{15};
  void* block = memview_test_malloc_on_stack(size_of(info[0]), reinterpret_cast<uint64_t>(unreadable), top);
  munmap(unreadable, 4096);
  free(stack);
  return result(info.Env(), block);
}

// close(fd) through libc, as a native library that closes every descriptor does (node's own
// fs.closeSync goes through libuv, which makes the system call itself).
Napi::Value CloseDescriptor(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), close(info[0].As<Napi::Number>().Int32Value()));
}

// Calls served by a preloaded counting allocator (counting_allocator.cc), or -1 without one.
Napi::Value UserAllocatorCalls(const Napi::CallbackInfo& info) {
  auto calls = reinterpret_cast<uint64_t (*)()>(dlsym(RTLD_DEFAULT, "memview_test_counting_allocator_calls"));
  return Napi::Number::New(info.Env(), calls ? static_cast<double>(calls()) : -1);
}

Napi::Value MallocWithFramePointer(const Napi::CallbackInfo& info) {
  return result(info.Env(), memview_test_malloc_with_rbp(size_of(info[0]), address_of(info[1])));
}

// malloc(size) with rbp at a frame record on this stack whose "return address" is `return_address`
// (0: an address on this stack) and whose next record is none, as code without frame pointers
// leaves rbp holding a pointer to its own data. Odd and even sizes put the record at different
// places, so that two calls do not look like the same frame to the walk's cache.
Napi::Value MallocUnderForgedFrame(const Napi::CallbackInfo& info) {
  const size_t size = size_of(info[0]);
  volatile uint64_t records[4] = {};
  volatile uint64_t* frame = &records[(size & 1) * 2];
  frame[1] = address_of(info[1]) != 0 ? address_of(info[1]) : reinterpret_cast<uint64_t>(&records[0]);
  return result(info.Env(), memview_test_malloc_with_rbp(size, reinterpret_cast<uint64_t>(frame)));
}

Napi::Value PosixMemalign(const Napi::CallbackInfo& info) {
  void* address = nullptr;
  if (posix_memalign(&address, size_of(info[0]), size_of(info[1])) != 0) address = nullptr;
  return result(info.Env(), address);
}

Napi::Value Free(const Napi::CallbackInfo& info) {
  free(reinterpret_cast<void*>(address_of(info[0])));
  return info.Env().Undefined();
}
Napi::Value DeleteScalar(const Napi::CallbackInfo& info) {
  ::operator delete(reinterpret_cast<void*>(address_of(info[0])));
  return info.Env().Undefined();
}
Napi::Value DeleteArray(const Napi::CallbackInfo& info) {
  ::operator delete[](reinterpret_cast<void*>(address_of(info[0])));
  return info.Env().Undefined();
}
Napi::Value Munmap(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), munmap(reinterpret_cast<void*>(address_of(info[0])), size_of(info[1])));
}
Napi::Value Mprotect(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), mprotect(reinterpret_cast<void*>(address_of(info[0])), size_of(info[1]),
                                                info[2].As<Napi::Number>().Int32Value()));
}

// The munmap splitting scenario in one native call, so that no other mapping (V8 growing its heap
// between two calls from JavaScript) can land in the hole it makes: 10 accessible pages; unmap 2
// in the middle, then the first page, then pages 1..9 at once.
Napi::Value MunmapScenario(const Napi::CallbackInfo& info) {
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  char* start = static_cast<char*>(mmap(nullptr, 10 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  munmap(start + 4 * page, 2 * page);
  munmap(start, page);
  munmap(start + page, 9 * page);
  return result(info.Env(), start);
}

void* thread_body(void* size) {
  void* block = valloc(reinterpret_cast<size_t>(size));
  return block;  // never freed: the thread exits holding it
}

// Starts a native thread that allocates with valloc and exits; returns the block's address.
Napi::Value AllocateInExitingThread(const Napi::CallbackInfo& info) {
  pthread_t thread;
  pthread_create(&thread, nullptr, thread_body, reinterpret_cast<void*>(size_of(info[0])));
  void* block = nullptr;
  pthread_join(thread, &block);
  return result(info.Env(), block);
}

// fork(): the child vallocs `size` bytes and exits; the parent waits and returns the child's pid.
Napi::Value ForkAndAllocate(const Napi::CallbackInfo& info) {
  size_t size = size_of(info[0]);
  pid_t child = fork();
  if (child == 0) {
    void* volatile block = valloc(size);
    (void)block;
    exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  return Napi::Number::New(info.Env(), child);
}

// `threads` native threads each make `iterations` memalign(16, 88) calls, keeping eight blocks
// and freeing one at random before each call. memalign is an entry point node itself never uses,
// so the count is exact; run with one malloc arena and no tcache, the threads hand each other
// their freed blocks all the time, which is the race the capture's order has to get right.
struct ChurnArguments {
  int iterations;
  unsigned seed;
  pthread_barrier_t* start;  // all threads begin together, or a fast one may finish before the next starts
};

void* churn_thread(void* data) {
  ChurnArguments* arguments = static_cast<ChurnArguments*>(data);
  pthread_barrier_wait(arguments->start);
  void* kept[8] = {};
  unsigned seed = arguments->seed;
  for (int i = 0; i < arguments->iterations; i++) {
    seed = seed * 1103515245u + 12345u;
    int slot = static_cast<int>((seed >> 16) & 7);
    free(kept[slot]);
    kept[slot] = memalign(16, 88);
    *static_cast<volatile char*>(kept[slot]) = 1;
    // On a machine busy elsewhere the threads take turns on one core, each for a whole time slice,
    // and would hand each other blocks only at the slices' ends: yielding keeps them interleaved.
    // Every 16 calls was not enough beside a full test run (26 hand-offs in 1.2 million calls); every 4 made 1,500 beside three busy loops.
    if ((i & 3) == 3) sched_yield();
  }
  for (void* block : kept) free(block);
  return nullptr;
}

Napi::Value ChurnAcrossThreads(const Napi::CallbackInfo& info) {
  int threads = info[0].As<Napi::Number>().Int32Value();
  int iterations = info[1].As<Napi::Number>().Int32Value();
  std::vector<pthread_t> handles(threads);
  std::vector<ChurnArguments> arguments(threads);
  pthread_barrier_t start;
  pthread_barrier_init(&start, nullptr, static_cast<unsigned>(threads));
  for (int t = 0; t < threads; t++) {
    arguments[t] = {iterations, static_cast<unsigned>(t + 1) * 7919u, &start};
    pthread_create(&handles[t], nullptr, churn_thread, &arguments[t]);
  }
  for (pthread_t handle : handles) pthread_join(handle, nullptr);
  pthread_barrier_destroy(&start);
  return info.Env().Undefined();
}

// The collector's table of reused JIT code: notes each [start, end) of `ranges` in turn (with the
// identity of the same index in `identities`), then returns,
// for each pc of `probes`, the salt its trie key carries (0 = none), and for each range whether it
// was salted. Tests hold it to a painted reference model.
Napi::Value ReusedCodeSalts(const Napi::CallbackInfo& info) {
  Napi::Float64Array ranges = info[0].As<Napi::Float64Array>();
  Napi::Float64Array probes = info[1].As<Napi::Float64Array>();
  Napi::Float64Array identities = info[2].As<Napi::Float64Array>();
  std::unique_ptr<memview::ReusedCode> code(new memview::ReusedCode());
  Napi::Float64Array outcomes = Napi::Float64Array::New(info.Env(), ranges.ElementLength() / 2);
  for (size_t i = 0; i + 1 < ranges.ElementLength(); i += 2) {
    auto outcome = code->note_code(static_cast<uint64_t>(ranges[i]), static_cast<uint64_t>(ranges[i + 1]),
                                   static_cast<uint64_t>(identities[i / 2]));
    outcomes[i / 2] = outcome == memview::ReusedCode::Outcome::kSalted ? 1 : 0;
  }
  Napi::Float64Array salts = Napi::Float64Array::New(info.Env(), probes.ElementLength());
  for (size_t i = 0; i < probes.ElementLength(); i++) salts[i] = static_cast<double>(code->key(static_cast<uint64_t>(probes[i])) >> 48);
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("outcomes", outcomes);
  result.Set("salts", salts);
  return result;
}

// The collector's stack trie: interns `edges` (parent id, pc pairs, in order; a parent is an id an
// earlier edge returned, or 0) and returns each edge's child id, negated when the edge was new.
// With `twice`, the trie is then reset and the same edges interned again. Tests hold it to a map of
// (parent, pc) pairs across the table's growth.
Napi::Value StackTrieChildren(const Napi::CallbackInfo& info) {
  Napi::Float64Array edges = info[0].As<Napi::Float64Array>();
  const bool twice = info[1].As<Napi::Boolean>().Value();
  std::unique_ptr<memview::StackTrie> trie(new memview::StackTrie());
  const size_t count = edges.ElementLength() / 2;
  Napi::Float64Array children = Napi::Float64Array::New(info.Env(), count * (twice ? 2 : 1));
  // Path hashes by id, as the collector keeps them beside the trie nodes of its cached stack.
  std::vector<uint64_t> hashes(1, memview::StackTrie::kRootHash);
  for (size_t round = 0; round < (twice ? 2u : 1u); round++) {
    if (round == 1) {
      trie->reset();
      hashes.assign(1, memview::StackTrie::kRootHash);
    }
    for (size_t i = 0; i < count; i++) {
      const uint32_t parent = static_cast<uint32_t>(edges[i * 2]);
      const uint64_t pc = static_cast<uint64_t>(edges[i * 2 + 1]);
      const uint64_t hash = memview::StackTrie::path_hash(hashes.at(parent), pc);
      trie->prefetch(hash);
      bool created = false;
      const uint32_t child = trie->child(parent, pc, hash, &created);
      if (created && child != hashes.size()) return Napi::Number::New(info.Env(), -1);  // ids must be dense
      if (created) hashes.push_back(hash);
      children[round * count + i] = created ? -static_cast<double>(child) : child;
    }
  }
  return children;
}

// The collector's table of code held back until a stack uses it: runs `operations`, four numbers
// each (0: add start, size, identity -> 1 when new, 0 when already known; 1: move from, to ->
// 0 written, 1 pending, 2 unknown; 2: take the unwritten code at call site a -> its start, or -1)
// and returns one result per operation. Tests hold it to a plain list model.
Napi::Value DeferredCodeOperations(const Napi::CallbackInfo& info) {
  Napi::Float64Array operations = info[0].As<Napi::Float64Array>();
  std::unique_ptr<memview::DeferredCode> code(new memview::DeferredCode());
  const size_t count = operations.ElementLength() / 4;
  Napi::Float64Array results = Napi::Float64Array::New(info.Env(), count);
  for (size_t i = 0; i < count; i++) {
    const int type = static_cast<int>(operations[i * 4]);
    const uint64_t a = static_cast<uint64_t>(operations[i * 4 + 1]);
    const uint64_t b = static_cast<uint64_t>(operations[i * 4 + 2]);
    const uint64_t c = static_cast<uint64_t>(operations[i * 4 + 3]);
    if (type == 0) {
      memview::CodeDescription description;
      description.start = a;
      description.size = b;
      description.name = "code " + std::to_string(c);
      results[i] = code->add(std::move(description), c) ? 1 : 0;
    } else if (type == 1) {
      results[i] = static_cast<double>(code->move(a, b));
    } else {
      bool covered = false;
      const memview::CodeDescription* taken = code->take_unwritten(a, &covered);
      if (taken && !covered) return Napi::Number::New(info.Env(), -2);  // contradiction: fails the test
      results[i] = taken ? static_cast<double>(taken->start) : -1;
    }
  }
  return results;
}

// The collector's DEFLATE compressor, exposed so tests can check its output against zlib's
// inflate: deflateRaw(input, blockBreaks?, attempts?, longMatches?), with the writer's defaults.
Napi::Value DeflateRaw(const Napi::CallbackInfo& info) {
  Napi::Uint8Array input = info[0].As<Napi::Uint8Array>();
  std::vector<size_t> block_breaks;
  if (info.Length() > 1 && info[1].IsArray()) {
    Napi::Array breaks = info[1].As<Napi::Array>();
    for (uint32_t i = 0; i < breaks.Length(); i++) block_breaks.push_back(static_cast<size_t>(breaks.Get(i).As<Napi::Number>().Int64Value()));
  }
  int attempts = info.Length() > 2 ? info[2].As<Napi::Number>().Int32Value() : 4;
  bool long_matches = info.Length() > 3 && info[3].ToBoolean();
  // Slack past the bound: the bit writer stores whole 32-bit words.
  std::vector<uint8_t> output(memview::deflate_raw_bound(input.ByteLength()) + 8);
  std::unique_ptr<memview::DeflateScratch> scratch(new memview::DeflateScratch());
  size_t size = memview::deflate_raw_compress(input.Data(), input.ByteLength(), block_breaks.data(), block_breaks.size(),
                                              output.data(), scratch.get(), attempts, long_matches);
  return Napi::Buffer<uint8_t>::Copy(info.Env(), output.data(), size);
}

// sourceLines(path, addresses[, batches]): "file:line" (or "") for each address of the ELF file at
// `path`, in its own address space, from the collector's DWARF line-table reader. With `batches`,
// the addresses are looked up in that many calls (every batches-th address in each) that share
// the unit spans the first one learns, as the collector's batches of a run do.
Napi::Value SourceLines(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>();
  Napi::Array wanted = info[1].As<Napi::Array>();
  std::vector<uint64_t> addresses;
  for (uint32_t i = 0; i < wanted.Length(); i++) addresses.push_back(static_cast<uint64_t>(wanted.Get(i).As<Napi::Number>().Int64Value()));
  std::vector<size_t> order(addresses.size());
  for (size_t i = 0; i < order.size(); i++) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return addresses[a] < addresses[b]; });
  std::vector<uint64_t> sorted;
  for (size_t i : order) sorted.push_back(addresses[i]);
  memview::ElfSymbols symbols;
  if (!symbols.open(path.c_str())) {
    Napi::Error::New(env, "cannot read " + path).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const size_t batches = info.Length() > 2 ? static_cast<size_t>(info[2].As<Napi::Number>().Uint32Value()) : 0;
  std::vector<memview::SourceLine> lines;
  if (batches == 0) {
    lines = memview::source_lines_of(symbols.dwarf_sections(), sorted);
  } else {
    lines.resize(sorted.size());
    memview::LineUnitSpans spans;
    for (size_t batch = 0; batch < batches; batch++) {
      std::vector<uint64_t> some;
      for (size_t i = batch; i < sorted.size(); i += batches) some.push_back(sorted[i]);
      std::vector<memview::SourceLine> found = memview::source_lines_of(symbols.dwarf_sections(), some, &spans);
      for (size_t i = batch, k = 0; i < sorted.size(); i += batches, k++) lines[i] = found[k];
    }
  }
  Napi::Array result = Napi::Array::New(env, addresses.size());
  for (size_t k = 0; k < order.size(); k++) {
    const memview::SourceLine& line = lines[k];
    result.Set(static_cast<uint32_t>(order[k]), line.line > 0 ? line.file + ":" + std::to_string(line.line) : std::string());
  }
  return result;
}

// A native crash, as a buggy addon would have: a store through a null pointer.
Napi::Value Segfault(const Napi::CallbackInfo& info) {
  *static_cast<volatile int*>(nullptr) = 1;
  return info.Env().Undefined();
}

// exported_function (collector/src/core/exported_functions.h) next to what the dynamic linker says:
// [start, end, dlsym's address, dladdr1's symbol size, its type] for the name, numbers as doubles.
Napi::Value ExportedFunction(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>();
  const memview::FunctionRange range = memview::exported_function(name.c_str());
  void* address = dlsym(RTLD_DEFAULT, name.c_str());
  Dl_info found;
  void* entry = nullptr;
  const bool known = address && dladdr1(address, &found, &entry, RTLD_DL_SYMENT) && entry;
  const ElfW(Sym)* symbol = static_cast<const ElfW(Sym)*>(entry);
  Napi::Array out = Napi::Array::New(info.Env(), 5);
  out.Set(0u, static_cast<double>(range.start));
  out.Set(1u, static_cast<double>(range.end));
  out.Set(2u, static_cast<double>(reinterpret_cast<uint64_t>(address)));
  out.Set(3u, known ? static_cast<double>(symbol->st_size) : -1.0);
  out.Set(4u, known ? static_cast<double>(ELF64_ST_TYPE(symbol->st_info)) : -1.0);
  return out;
}

// A block the addon allocates while dlopen runs its constructors, before the dynamic linker has
// returned the library to anyone who could tell memview it is loaded. Kept, so that it is a leak.
void* g_block_allocated_at_load = nullptr;
__attribute__((constructor, noinline)) void allocate_while_loading() {
  g_block_allocated_at_load = malloc(70301);
}

Napi::Value BlockAllocatedAtLoad(const Napi::CallbackInfo& info) { return result(info.Env(), g_block_allocated_at_load); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("blockAllocatedAtLoad", Napi::Function::New(env, BlockAllocatedAtLoad));
  exports.Set("segfault", Napi::Function::New(env, Segfault));
  exports.Set("exportedFunction", Napi::Function::New(env, ExportedFunction));
  exports.Set("sourceLines", Napi::Function::New(env, SourceLines));
  exports.Set("deflateRaw", Napi::Function::New(env, DeflateRaw));
  exports.Set("malloc", Napi::Function::New(env, Malloc));
  exports.Set("calloc", Napi::Function::New(env, Calloc));
  exports.Set("realloc", Napi::Function::New(env, Realloc));
  exports.Set("posixMemalign", Napi::Function::New(env, PosixMemalign));
  exports.Set("alignedAlloc", Napi::Function::New(env, AlignedAlloc));
  exports.Set("memalign", Napi::Function::New(env, Memalign));
  exports.Set("valloc", Napi::Function::New(env, Valloc));
  exports.Set("mallocWithFramePointer", Napi::Function::New(env, MallocWithFramePointer));
  exports.Set("mallocUnderForgedFrame", Napi::Function::New(env, MallocUnderForgedFrame));
  exports.Set("mallocOnHeapStack", Napi::Function::New(env, MallocOnHeapStack));
  exports.Set("userAllocatorCalls", Napi::Function::New(env, UserAllocatorCalls));
  exports.Set("closeDescriptor", Napi::Function::New(env, CloseDescriptor));
  exports.Set("pvalloc", Napi::Function::New(env, Pvalloc));
  exports.Set("newScalar", Napi::Function::New(env, NewScalar));
  exports.Set("newArray", Napi::Function::New(env, NewArray));
  exports.Set("newAligned", Napi::Function::New(env, NewAligned));
  exports.Set("free", Napi::Function::New(env, Free));
  exports.Set("deleteScalar", Napi::Function::New(env, DeleteScalar));
  exports.Set("deleteArray", Napi::Function::New(env, DeleteArray));
  exports.Set("mmap", Napi::Function::New(env, Mmap));
  exports.Set("munmap", Napi::Function::New(env, Munmap));
  exports.Set("mprotect", Napi::Function::New(env, Mprotect));
  exports.Set("mremap", Napi::Function::New(env, Mremap));
  exports.Set("munmapScenario", Napi::Function::New(env, MunmapScenario));
  exports.Set("allocateInExitingThread", Napi::Function::New(env, AllocateInExitingThread));
  exports.Set("forkAndAllocate", Napi::Function::New(env, ForkAndAllocate));
  exports.Set("churnAcrossThreads", Napi::Function::New(env, ChurnAcrossThreads));
  exports.Set("reusedCodeSalts", Napi::Function::New(env, ReusedCodeSalts));
  exports.Set("deferredCodeOperations", Napi::Function::New(env, DeferredCodeOperations));
  exports.Set("stackTrieChildren", Napi::Function::New(env, StackTrieChildren));
  return exports;
}

}  // namespace

NODE_API_MODULE(memview_test_allocators, Init)
