// Function names for native pcs, read from the ELF files of loaded objects (.symtab when the file
// has one, else .dynsym). dladdr() would do, but it scans the whole dynamic symbol table for
// every lookup: with node's ~100k exported symbols that made the end of a run take seconds. Here
// one pass over the symbol table names every pc of an object at once, without copying names.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "dwarf_lines.h"

namespace memview {

class ElfSymbols {
 public:
  ElfSymbols() = default;
  ElfSymbols(const ElfSymbols&) = delete;
  ElfSymbols& operator=(const ElfSymbols&) = delete;
  ~ElfSymbols();

  /**
   * Maps the file at `path` and finds its tables; false when it cannot be read or parsed.
   * Compressed debug sections are inflated only with `inflate_compressed` (it costs a traced run's
   * end ~10 ms for libc's), else skipped.
   */
  bool open(const char* path, bool inflate_compressed = false);

  /** Unmaps the file and forgets its tables (open() may be called again). */
  void close();

  /**
   * From now on close() forgets a file without unmapping it, for a process that is about to exit:
   * unmapping the pages a lookup touched (node's symbol and line tables, ~10 MB) makes the kernel
   * flush the TLB of every CPU the process's other threads run on, batch by batch (perf: 3% of a
   * traced `node -e 0`'s samples); the exit drops the whole address space at once.
   */
  static void leave_mappings_to_exit();

  /**
   * The name of the function containing each of `addresses` (sorted ascending, in the file's own
   * virtual address space), or null. The names point into the mapped file: valid while this lives.
   */
  std::vector<const char*> names_of(const std::vector<uint64_t>& addresses) const;

  /** The object's GNU build id (NT_GNU_BUILD_ID note), empty when it has none. */
  const std::vector<uint8_t>& build_id() const { return build_id_; }

  /** The DWARF sections a line lookup needs (null where the file has none); valid while this lives. */
  const DwarfSections& dwarf_sections() const { return dwarf_; }

 private:
  void read_build_id(const uint8_t* notes, size_t size);
  // The inflated bytes of a compressed section, kept in inflated_ (null when it cannot be done).
  const uint8_t* inflated_section(const uint8_t* data, size_t* size);

  const uint8_t* file_ = nullptr;
  size_t file_size_ = 0;
  const void* symbols_ = nullptr;  // Elf64_Sym[symbol_count_]
  size_t symbol_count_ = 0;
  const char* names_ = nullptr;
  size_t names_size_ = 0;
  DwarfSections dwarf_;
  std::vector<uint8_t> build_id_;
  std::vector<std::vector<uint8_t>> inflated_;  // compressed sections the DWARF pointers above may point into
};

}  // namespace memview
