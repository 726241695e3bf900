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
  /** True when the file carries DWARF line tables (.debug_line), so addr2line can give file:line. */
  bool has_line_info() const { return has_line_info_; }

 private:
  struct Symbol {
    uint64_t start;
    uint64_t size;
    uint32_t name;  // offset into names_
  };
  std::vector<Symbol> symbols_;
  std::string names_;
  bool has_line_info_ = false;
};

}  // namespace memview
