#include "native_symbols.h"

#include <algorithm>
#include <unordered_map>
#include <vector>

#include "object_symbols.h"

namespace memview {

void symbolize_native_pcs(const uint64_t* pcs, const uint32_t* modules_loaded, size_t count, const ModuleMap& modules,
                          const EmitSymbol& emit) {
  std::unordered_map<const ModuleInfo*, std::vector<uint64_t>> pcs_by_module;
  for (size_t i = 0; i < count; i++) {
    if (const ModuleInfo* module = modules.module_of(pcs[i] - 1, modules_loaded[i])) pcs_by_module[module].push_back(pcs[i]);
  }
  for (auto& [module, module_pcs] : pcs_by_module) {
    std::sort(module_pcs.begin(), module_pcs.end());
    // The build id of the object as loaded: a file replaced on disk since (an upgrade during the
    // run) is not used, and the debug file of the loaded build is.
    symbolize_object_pcs(module->path, module->load_bias, module_pcs, module->build_id, module->build_id_length,
                         /*inflate_compressed=*/false, emit);
  }
}

}  // namespace memview
