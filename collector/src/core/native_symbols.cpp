#include "native_symbols.h"

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <unordered_map>
#include <vector>

#include "dwarf_lines.h"
#include "elf_symbols.h"

namespace memview {

void symbolize_native_pcs(const NativePcSet& native_pcs, const ModuleMap& modules,
                          const std::function<void(uint64_t, const char*, const char*, uint32_t)>& emit) {
  std::unordered_map<const ModuleInfo*, std::vector<uint64_t>> pcs_by_module;
  native_pcs.for_each([&](uint64_t pc, uint32_t modules_loaded) {
    if (const ModuleInfo* module = modules.module_of(pc - 1, modules_loaded)) pcs_by_module[module].push_back(pc);
  });
  for (auto& [module, pcs] : pcs_by_module) {
    ElfSymbols symbols;
    if (!symbols.open(module->path)) continue;
    std::sort(pcs.begin(), pcs.end());
    // A pc is a return address: the call is at pc - 1, in the file's own address space.
    std::vector<uint64_t> addresses;
    for (uint64_t pc : pcs) addresses.push_back(pc - 1 - module->load_bias);
    std::vector<const char*> names = symbols.names_of(addresses);
    std::vector<SourceLine> lines = source_lines_of(symbols.dwarf_sections(), addresses);
    for (size_t i = 0; i < pcs.size(); i++) {
      if (!names[i] && lines[i].line == 0) continue;
      int status = 0;
      char* demangled = names[i] ? abi::__cxa_demangle(names[i], nullptr, nullptr, &status) : nullptr;
      const char* name = status == 0 && demangled ? demangled : names[i];
      if (lines[i].line > 0) emit(pcs[i], name, lines[i].file.c_str(), lines[i].line);
      else emit(pcs[i], name, nullptr, 0);
      free(demangled);
    }
  }
}

}  // namespace memview
