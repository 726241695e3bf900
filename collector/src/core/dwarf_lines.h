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
 * Where the rows of each unit of one .debug_line lie, learned by the first lookup that ran all of
 * them: a later lookup in the same section runs only the units whose span holds one of its
 * addresses. A collector names native pcs in batches as a run goes, and running every line
 * program of node (libuv's, 0.3 MB) was most of each batch's time (~2.5 ms at a run's end).
 */
struct LineUnitSpans {
  struct Span {
    uint64_t low = ~uint64_t{0};  // the lowest address a row of the unit covers
    uint64_t high = 0;            // past the highest; low >= high: the unit covers nothing
  };
  std::vector<Span> units;  // in the section's order
  bool known = false;
};

/**
 * The row of the line tables covering each of `addresses` (sorted ascending, in the object's own
 * virtual address space). A file path is the directory and name the table gives; for DWARF 5 a
 * relative directory is taken from the compilation directory, which DWARF 2-4 line tables do not
 * carry (their relative paths stay relative). Malformed units are skipped, never read past.
 * `spans`, when given, must belong to this very section: it is filled by the first call and makes
 * the next ones skip units that cannot hold an address.
 */
std::vector<SourceLine> source_lines_of(const DwarfSections& sections, const std::vector<uint64_t>& addresses,
                                        LineUnitSpans* spans = nullptr);

}  // namespace memview
