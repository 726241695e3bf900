// Function names for native pcs, read from the ELF files of loaded objects (.symtab when the file
// has one, else .dynsym). dladdr() would do, but it scans the whole dynamic symbol table for
// every lookup: with node's ~100k exported symbols that made the end of a run take seconds. Here
// one pass over the symbol table names every pc of an object at once, without copying names.
#pragma once
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace memview {

class ElfSymbols {
 public:
  ElfSymbols() = default;
  ElfSymbols(const ElfSymbols&) = delete;
  ElfSymbols& operator=(const ElfSymbols&) = delete;
  ~ElfSymbols();

  /** Maps the file at `path` and finds its tables; false when it cannot be read or parsed. */
  bool open(const char* path);

  /**
   * The name of the function containing each of `addresses` (sorted ascending, in the file's own
   * virtual address space), or null. The names point into the mapped file: valid while this lives.
   */
  std::vector<const char*> names_of(const std::vector<uint64_t>& addresses) const;

  /**
   * True when DWARF describes `address` (a range of .debug_aranges covers it), so addr2line can give
   * its file:line. Debian's node has DWARF for libuv only: asking addr2line about every other pc
   * would cost a second for nothing.
   */
  bool has_line_info(uint64_t address) const;

 private:
  void read_address_ranges(const uint8_t* data, size_t size);
  const uint8_t* file_ = nullptr;
  size_t file_size_ = 0;
  const void* symbols_ = nullptr;  // Elf64_Sym[symbol_count_]
  size_t symbol_count_ = 0;
  const char* names_ = nullptr;
  size_t names_size_ = 0;
  std::vector<std::pair<uint64_t, uint64_t>> described_ranges_;  // [start, end) from .debug_aranges
};

}  // namespace memview
