#include "object_symbols.h"

#include <cxxabi.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include "dwarf_lines.h"
#include "elf_symbols.h"

namespace memview {

namespace {

// $MEMVIEW_DEBUG_DIR as remember_debug_directories() read it; a fixed buffer, since it is filled
// inside the tracing core, which must not allocate while starting.
char g_remembered_debug_dirs[4096];
bool g_debug_dirs_remembered = false;

// Where distributions put separate debug files, found by build id (Debian's -dbg/-dbgsym
// packages, Fedora's debuginfo, debuginfod's cache layout): /usr/lib/debug/.build-id/ab/cdef....debug.
// MEMVIEW_DEBUG_DIR replaces the directory with a ':'-separated list of them, searched in order
// (tests, a tree of another machine's debug files, memview symbolize's debuginfod cache).
bool open_debug_file(const std::vector<uint8_t>& build_id, bool inflate_compressed, ElfSymbols* debug, std::string* used) {
  if (build_id.size() < 2) return false;
  static const char kHex[] = "0123456789abcdef";
  std::string relative = "/.build-id/";
  for (size_t i = 0; i < build_id.size(); i++) {
    relative += kHex[build_id[i] >> 4];
    relative += kHex[build_id[i] & 15];
    if (i == 0) relative += '/';
  }
  relative += ".debug";
  const char* list = g_debug_dirs_remembered ? g_remembered_debug_dirs : getenv("MEMVIEW_DEBUG_DIR");
  std::string directories = list && strspn(list, ":") < strlen(list) ? list : "/usr/lib/debug";
  for (size_t start = 0; start <= directories.size();) {
    size_t end = directories.find(':', start);
    if (end == std::string::npos) end = directories.size();
    if (end > start) {
      const std::string path = directories.substr(start, end - start) + relative;
      // A file of another build under that name (a stale cache) is passed over.
      if (debug->open(path.c_str(), inflate_compressed) && debug->build_id() == build_id) {
        if (used) *used = path;
        return true;
      }
      debug->close();
    }
    start = end + 1;
  }
  return false;
}

// The line-table spans (dwarf_lines.h) of every file whose lines were looked up in this process,
// by which file it is: a collector names a run's native pcs in batches, from the same files. A
// build id tells builds apart; files without one are not remembered. Never freed: the last batch
// runs while the process exits.
std::mutex g_line_spans_mutex;
std::map<std::string, LineUnitSpans>* g_line_spans = nullptr;

std::vector<SourceLine> source_lines_remembering(const ElfSymbols& file, bool debug_file, bool inflate_compressed,
                                                 const std::vector<uint64_t>& addresses) {
  const std::vector<uint8_t>& build_id = file.build_id();
  if (build_id.empty()) return source_lines_of(file.dwarf_sections(), addresses);
  std::string key(1, static_cast<char>((debug_file ? 1 : 0) | (inflate_compressed ? 2 : 0)));
  key.append(build_id.begin(), build_id.end());
  std::lock_guard<std::mutex> hold(g_line_spans_mutex);
  if (g_line_spans == nullptr) g_line_spans = new std::map<std::string, LineUnitSpans>();
  return source_lines_of(file.dwarf_sections(), addresses, &(*g_line_spans)[key]);
}

}  // namespace

void remember_debug_directories() {
  const char* list = getenv("MEMVIEW_DEBUG_DIR");
  // A list longer than the buffer is cut at a ':' rather than in the middle of a directory.
  size_t length = list ? strlen(list) : 0;
  if (length >= sizeof(g_remembered_debug_dirs)) {
    length = sizeof(g_remembered_debug_dirs) - 1;
    while (length > 0 && list[length] != ':') length--;
  }
  if (length > 0) memcpy(g_remembered_debug_dirs, list, length);
  g_remembered_debug_dirs[length] = 0;
  g_debug_dirs_remembered = true;
}

ObjectSymbolsResult symbolize_object_pcs(const char* path, uint64_t load_bias, const std::vector<uint64_t>& pcs,
                                         const uint8_t* build_id, size_t build_id_length, bool inflate_compressed,
                                         const EmitSymbol& emit, std::string* debug_file_used) {
  if (debug_file_used) debug_file_used->clear();
  ElfSymbols symbols;
  const bool object_opened = symbols.open(path, inflate_compressed);
  const bool object_matches = object_opened && (build_id_length == 0 || (symbols.build_id().size() == build_id_length &&
                                                                         memcmp(symbols.build_id().data(), build_id, build_id_length) == 0));
  // A stripped object keeps only its exported functions and no line tables; its separate debug
  // file, when installed, has the full symbol table and the lines. Same addresses, same build id.
  // Found by the build id the capture recorded, the debug file names the pcs on its own when the
  // object itself is gone or was replaced (a capture read on another machine).
  const std::vector<uint8_t> wanted_id = build_id_length > 0 ? std::vector<uint8_t>(build_id, build_id + build_id_length)
                                         : object_matches ? symbols.build_id()
                                                          : std::vector<uint8_t>();
  ElfSymbols debug;
  const bool has_debug = open_debug_file(wanted_id, inflate_compressed, &debug, debug_file_used);
  if (!object_matches && !has_debug) return object_opened ? ObjectSymbolsResult::kOtherBuild : ObjectSymbolsResult::kUnreadable;
  // A pc is a return address: the call is at pc - 1, in the file's own address space.
  std::vector<uint64_t> addresses;
  addresses.reserve(pcs.size());
  for (uint64_t pc : pcs) addresses.push_back(pc - 1 - load_bias);
  std::vector<const char*> names(addresses.size(), nullptr);
  std::vector<SourceLine> lines(addresses.size());
  if (object_matches) {
    names = symbols.names_of(addresses);
    lines = source_lines_remembering(symbols, /*debug_file=*/false, inflate_compressed, addresses);
  }
  if (has_debug) {
    std::vector<const char*> debug_names = debug.names_of(addresses);
    std::vector<SourceLine> debug_lines = source_lines_remembering(debug, /*debug_file=*/true, inflate_compressed, addresses);
    for (size_t i = 0; i < addresses.size(); i++) {
      if (debug_names[i]) names[i] = debug_names[i];
      if (debug_lines[i].line > 0) lines[i] = std::move(debug_lines[i]);
    }
  }
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

std::vector<uint8_t> build_id_of_file(const char* path) {
  ElfSymbols file;
  return file.open(path) ? file.build_id() : std::vector<uint8_t>();
}

}  // namespace memview
