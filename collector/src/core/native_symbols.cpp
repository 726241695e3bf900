#include "native_symbols.h"

#include <algorithm>
#include <unordered_map>
#include <vector>

#include "object_symbols.h"

namespace memview {

void symbolize_native_pcs(const NativePcSet& native_pcs, const ModuleMap& modules, const EmitSymbol& emit) {
  std::unordered_map<const ModuleInfo*, std::vector<uint64_t>> pcs_by_module;
  native_pcs.for_each([&](uint64_t pc, uint32_t modules_loaded) {
    if (const ModuleInfo* module = modules.module_of(pc - 1, modules_loaded)) pcs_by_module[module].push_back(pc);
  });
  for (auto& [module, pcs] : pcs_by_module) {
    std::sort(pcs.begin(), pcs.end());
    // The build id of the object as loaded: a file replaced on disk since (an upgrade during the
    // run) is not used, and the debug file of the loaded build is.
    symbolize_object_pcs(module->path, module->load_bias, pcs, module->build_id, module->build_id_length,
                         /*inflate_compressed=*/false, emit);
  }
}

}  // namespace memview
