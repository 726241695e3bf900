// Where a function the node executable exports lies, start and size, found by its (mangled) name in
// the executable's GNU hash table. dlsym gives only the start, and dladdr1's symbol entry (which has
// the size) costs half a millisecond per call in node: it goes through all ~75,000 exported symbols.
#pragma once
#include <elf.h>
#include <link.h>

#include <cstdint>
#include <cstring>

namespace memview {

struct FunctionRange {
  uint64_t start = 0;
  uint64_t end = 0;  // 0: not found
};

namespace detail {

struct ExecutableSymbols {
  const ElfW(Sym)* symbols = nullptr;
  const char* names = nullptr;
  const uint32_t* gnu_hash = nullptr;
  uint64_t load_bias = 0;
};

// The dynamic symbol table of the executable (the first object dl_iterate_phdr reports).
inline int find_executable_symbols(dl_phdr_info* info, size_t, void* data) {
  ExecutableSymbols* found = static_cast<ExecutableSymbols*>(data);
  for (int i = 0; i < info->dlpi_phnum; i++) {
    if (info->dlpi_phdr[i].p_type != PT_DYNAMIC) continue;
    const ElfW(Dyn)* entry = reinterpret_cast<const ElfW(Dyn)*>(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    // glibc rewrites these entries as run-time addresses when it loads the object (x86-64 keeps
    // .dynamic writable until then); a value below the load bias is still a file address.
    auto address = [&](ElfW(Addr) value) { return value < info->dlpi_addr ? value + info->dlpi_addr : value; };
    for (; entry->d_tag != DT_NULL; entry++) {
      if (entry->d_tag == DT_SYMTAB) found->symbols = reinterpret_cast<const ElfW(Sym)*>(address(entry->d_un.d_ptr));
      else if (entry->d_tag == DT_STRTAB) found->names = reinterpret_cast<const char*>(address(entry->d_un.d_ptr));
      else if (entry->d_tag == DT_GNU_HASH) found->gnu_hash = reinterpret_cast<const uint32_t*>(address(entry->d_un.d_ptr));
    }
    found->load_bias = info->dlpi_addr;
  }
  return 1;  // the executable only
}

}  // namespace detail

/** The range of the executable's exported function `name`, or an empty range. */
inline FunctionRange exported_function(const char* name) {
  detail::ExecutableSymbols table;
  dl_iterate_phdr(detail::find_executable_symbols, &table);
  if (!table.symbols || !table.names || !table.gnu_hash) return {};
  uint32_t hash = 5381;
  for (const char* c = name; *c; c++) hash = hash * 33 + static_cast<uint8_t>(*c);
  const uint32_t bucket_count = table.gnu_hash[0], first_hashed = table.gnu_hash[1], bloom_words = table.gnu_hash[2];
  if (bucket_count == 0) return {};
  const uint32_t* buckets = table.gnu_hash + 4 + bloom_words * (sizeof(ElfW(Addr)) / 4);
  const uint32_t* chain = buckets + bucket_count;
  uint32_t index = buckets[hash % bucket_count];
  if (index < first_hashed) return {};
  while (true) {
    const uint32_t chained = chain[index - first_hashed];
    const ElfW(Sym)& symbol = table.symbols[index];
    if ((chained | 1) == (hash | 1) && strcmp(table.names + symbol.st_name, name) == 0) {
      if (ELF64_ST_TYPE(symbol.st_info) != STT_FUNC || symbol.st_value == 0 || symbol.st_size == 0) return {};
      const uint64_t start = table.load_bias + symbol.st_value;
      return {start, start + symbol.st_size};
    }
    if (chained & 1) return {};
    index++;
  }
}

}  // namespace memview
