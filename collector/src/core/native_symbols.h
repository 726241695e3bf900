// Names for the native pcs of a capture, found at the end of a run: the function from each
// object's ELF symbol table (demangled), and file:line from its DWARF line table where it has one.
#pragma once
#include <cstdint>
#include <functional>

#include "module_map.h"
#include "native_pc_set.h"
#include "object_symbols.h"

namespace memview {

/** Calls `emit` once for every pc of `pcs` that has a name or a source line (null/0 otherwise). */
void symbolize_native_pcs(const NativePcSet& pcs, const ModuleMap& modules, const EmitSymbol& emit);

}  // namespace memview
