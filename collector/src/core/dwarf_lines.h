// file:line for native pcs, from an object's DWARF line tables (.debug_line, DWARF 2-5, 32-bit
// DWARF). This used to be binutils' addr2line, run as a child at the end of every capture: it
// loads the object's whole symbol table and debug information, which on node (libuv is built with
// -g) cost 20-40 ms of every run. Running the line programs ourselves touches .debug_line only.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace memview {

struct DwarfSections {
  const uint8_t* line = nullptr;  // .debug_line
  size_t line_size = 0;
  const uint8_t* line_str = nullptr;  // .debug_line_str (DWARF 5 names)
  size_t line_str_size = 0;
  const uint8_t* str = nullptr;  // .debug_str
  size_t str_size = 0;
};

struct SourceLine {
  std::string file;  // empty when no line table row covers the address
  uint32_t line = 0;
};

/**
 * The row of the line tables covering each of `addresses` (sorted ascending, in the object's own
 * virtual address space). A file path is the directory and name the table gives; for DWARF 5 a
 * relative directory is taken from the compilation directory, which DWARF 2-4 line tables do not
 * carry (their relative paths stay relative). Malformed units are skipped, never read past.
 */
std::vector<SourceLine> source_lines_of(const DwarfSections& sections, const std::vector<uint64_t>& addresses);

}  // namespace memview
