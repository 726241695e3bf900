#include "native_symbols.h"

#include <cxxabi.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "elf_symbols.h"

extern char** environ;

namespace memview {
namespace {

struct SourceLine {
  std::string file;
  uint32_t line;
};

// file:line for pcs of one object with DWARF line tables, from binutils' addr2line (run once per
// object at the end; a missing addr2line only means no file:line). posix_spawn, not fork: fork
// would run memview's own atfork handlers. Started before the symbol-table lookups and read after
// them, so addr2line loads its tables on another core meanwhile.
struct LineQuery {
  pid_t child = -1;
  int output = -1;
};

LineQuery start_source_lines(const ModuleInfo& module, const std::vector<uint64_t>& pcs) {
  LineQuery query;
  std::vector<std::string> arguments = {"addr2line", "-e", module.path};
  char address[32];
  for (uint64_t pc : pcs) {
    snprintf(address, sizeof(address), "0x%llx", static_cast<unsigned long long>(pc - 1 - module.load_bias));
    arguments.push_back(address);
  }
  std::vector<char*> argv;
  for (std::string& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);
  // addr2line must not be traced itself: drop memview's variables from its environment.
  std::vector<char*> environment;
  for (char** variable = environ; *variable; variable++) {
    if (strncmp(*variable, "LD_PRELOAD=", 11) != 0 && strncmp(*variable, "MEMVIEW_", 8) != 0) environment.push_back(*variable);
  }
  environment.push_back(nullptr);
  int pipe_ends[2];
  if (pipe2(pipe_ends, O_CLOEXEC) != 0) return query;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_ends[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t child;
  int spawned = posix_spawnp(&child, "addr2line", &actions, nullptr, argv.data(), environment.data());
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_ends[1]);
  if (spawned != 0) {
    close(pipe_ends[0]);
    return query;
  }
  query.child = child;
  query.output = pipe_ends[0];
  return query;
}

std::unordered_map<uint64_t, SourceLine> finish_source_lines(LineQuery query, const std::vector<uint64_t>& pcs) {
  std::unordered_map<uint64_t, SourceLine> lines;
  if (query.child < 0) return lines;
  FILE* output = fdopen(query.output, "r");
  char text[4096];
  size_t index = 0;
  while (output && index < pcs.size() && fgets(text, sizeof(text), output)) {
    char* colon = strrchr(text, ':');
    if (colon && text[0] != '?') {
      *colon = 0;
      uint32_t line = static_cast<uint32_t>(strtoul(colon + 1, nullptr, 10));
      if (line > 0) lines[pcs[index]] = {text, line};
    }
    index++;
  }
  if (output) fclose(output);
  else close(query.output);
  waitpid(query.child, nullptr, 0);
  return lines;
}

}  // namespace

void symbolize_native_pcs(const NativePcSet& native_pcs, const ModuleMap& modules,
                          const std::function<void(uint64_t, const char*, const char*, uint32_t)>& emit) {
  std::unordered_map<const ModuleInfo*, std::vector<uint64_t>> pcs_by_module;
  native_pcs.for_each([&](uint64_t pc) {
    if (const ModuleInfo* module = modules.module_of(pc - 1)) pcs_by_module[module].push_back(pc);
  });
  for (auto& [module, pcs] : pcs_by_module) {
    ElfSymbols symbols;
    if (!symbols.open(module->path)) continue;
    std::sort(pcs.begin(), pcs.end());
    // A pc is a return address: the call is at pc - 1, in the file's own address space.
    std::vector<uint64_t> addresses;
    std::vector<uint64_t> described;
    for (uint64_t pc : pcs) {
      addresses.push_back(pc - 1 - module->load_bias);
      if (symbols.has_line_info(addresses.back())) described.push_back(pc);
    }
    LineQuery query;
    if (!described.empty()) query = start_source_lines(*module, described);
    std::vector<const char*> names = symbols.names_of(addresses);
    std::unordered_map<uint64_t, SourceLine> lines = finish_source_lines(query, described);
    for (size_t i = 0; i < pcs.size(); i++) {
      auto line = lines.find(pcs[i]);
      if (!names[i] && line == lines.end()) continue;
      int status = 0;
      char* demangled = names[i] ? abi::__cxa_demangle(names[i], nullptr, nullptr, &status) : nullptr;
      const char* name = status == 0 && demangled ? demangled : names[i];
      if (line != lines.end()) emit(pcs[i], name, line->second.file.c_str(), line->second.line);
      else emit(pcs[i], name, nullptr, 0);
      free(demangled);
    }
  }
}

}  // namespace memview
