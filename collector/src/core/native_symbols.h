// Names for the native pcs of a capture, found at the end of a run: the function from each
// object's ELF symbol table (demangled), and file:line from its DWARF line table where it has one.
#pragma once
#include <cstdint>
#include <functional>

#include "module_map.h"
#include "native_pc_set.h"
#include "object_symbols.h"

namespace memview {

/**
 * Calls `emit` once for every one of the `count` pcs that has a name or a source line (null/0
 * otherwise); modules_loaded[i] is pcs[i]'s count of loaded objects (NativePcSet).
 */
void symbolize_native_pcs(const uint64_t* pcs, const uint32_t* modules_loaded, size_t count, const ModuleMap& modules,
                          const EmitSymbol& emit);

}  // namespace memview
