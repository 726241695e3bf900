#include "object_symbols.h"

#include <cxxabi.h>

#include <cstdlib>
#include <cstring>

#include "dwarf_lines.h"
#include "elf_symbols.h"

namespace memview {

ObjectSymbolsResult symbolize_object_pcs(const char* path, uint64_t load_bias, const std::vector<uint64_t>& pcs,
                                         const uint8_t* build_id, size_t build_id_length, const EmitSymbol& emit) {
  ElfSymbols symbols;
  if (!symbols.open(path)) return ObjectSymbolsResult::kUnreadable;
  if (build_id_length > 0 &&
      (symbols.build_id().size() != build_id_length || memcmp(symbols.build_id().data(), build_id, build_id_length) != 0)) {
    return ObjectSymbolsResult::kOtherBuild;
  }
  // A pc is a return address: the call is at pc - 1, in the file's own address space.
  std::vector<uint64_t> addresses;
  addresses.reserve(pcs.size());
  for (uint64_t pc : pcs) addresses.push_back(pc - 1 - load_bias);
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
  return ObjectSymbolsResult::kNamed;
}

}  // namespace memview
