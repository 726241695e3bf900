// Names for native pcs inside one ELF object: the function from its symbol table (demangled) and
// file:line from its DWARF line table where it has one. Used at the end of a run for every loaded
// object (native_symbols.cpp), and afterwards, from the file on disk, for a capture whose process
// died before it could write its symbols (the memview_symbols addon).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace memview {

using EmitSymbol = std::function<void(uint64_t pc, const char* function, const char* file, uint32_t line)>;

/** Why an object's pcs got no names. */
enum class ObjectSymbolsResult { kNamed, kUnreadable, kOtherBuild };

/**
 * Calls `emit` for every pc of `pcs` (return addresses, sorted ascending) that the object at
 * `path`, loaded at `load_bias`, names or gives a source line for, and its separate debug file
 * (found by build id under /usr/lib/debug/.build-id, or under each directory of the ':'-separated
 * list $MEMVIEW_DEBUG_DIR, in order) where there is
 * one. With a non-empty `build_id`, a file whose GNU build id differs is not used: it was replaced
 * since the pcs were taken, and its names would be wrong; the debug file of that build id still is.
 * `debug_file_used`, when given, receives the path of the debug file used ("" for none).
 * Compressed debug sections (zlib, as libc6-dbg's, or zstd) give lines only with `inflate_compressed`: ~10 ms, which
 * the end of every traced run does not pay, and `memview symbolize` does.
 */
ObjectSymbolsResult symbolize_object_pcs(const char* path, uint64_t load_bias, const std::vector<uint64_t>& pcs,
                                         const uint8_t* build_id, size_t build_id_length, bool inflate_compressed,
                                         const EmitSymbol& emit, std::string* debug_file_used = nullptr);

/**
 * Reads $MEMVIEW_DEBUG_DIR now, for every later symbolize_object_pcs of this process. Called when
 * tracing starts: the names are looked up at the end of a run, while the program's threads still
 * run, and one of them calling setenv then would race with getenv. Without it, each lookup reads
 * the variable itself (the CLI's addon).
 */
void remember_debug_directories();

/** The GNU build id of the ELF file at `path`; empty when it has none or cannot be read. */
std::vector<uint8_t> build_id_of_file(const char* path);

}  // namespace memview
