// Function names for native pcs, read from the ELF files of loaded objects (.symtab when the file
// has one, else .dynsym). dladdr() would do, but it scans the whole dynamic symbol table for
// every lookup: with node's ~100k exported symbols that made the end of a run take seconds.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace memview {

class ElfSymbols {
 public:
  /** Reads the symbols of the file at `path`; false when it cannot be read or parsed. */
  bool load(const char* path);
  /** The function containing `address` (an address in the file's own virtual address space). */
  const char* find(uint64_t address) const;
  /**
   * True when DWARF describes `address` (a range of .debug_aranges covers it), so addr2line can give
   * its file:line. Debian's node has a little DWARF for a few objects: asking addr2line about every
   * other pc would cost a second for nothing.
   */
  bool has_line_info(uint64_t address) const;

 private:
  void read_address_ranges(const uint8_t* data, size_t size);
  struct Symbol {
    uint64_t start;
    uint64_t size;
    uint32_t name;  // offset into names_
  };
  std::vector<Symbol> symbols_;
  std::string names_;
  std::vector<std::pair<uint64_t, uint64_t>> described_ranges_;  // [start, end) from .debug_aranges
};

}  // namespace memview
