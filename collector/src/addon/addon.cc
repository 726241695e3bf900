// The JavaScript-facing half of the collector: registers V8's JIT code event handler on each
// isolate (main thread and every worker) so that JavaScript frames in the capture can be named,
// and exposes start/stop for the Tracker API. It talks to the tracing core through the C
// functions the core exports, found with dlsym, so the core can be preloaded (memview run) or
// loaded here on demand.
#include <dlfcn.h>
#include <signal.h>
#include <sys/uio.h>
#include <unistd.h>
#include <napi.h>
#include <v8.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "../core/exported_functions.h"

namespace {

struct CoreApi {
  int (*is_tracing)();
  int (*capture_number)();
  int (*native_frames)();
  int (*start)(const char*, int, int);
  void (*stop)(const char*);
  void (*stop_at_exit)(const char*);
  const char* (*last_error)();
  void (*enter)();
  void (*leave)();
  void (*set_aside_allocations)(int);
  void (*code_added)(uint64_t, uint64_t, int, const char*, size_t, const char*, size_t, int, int, const uint32_t*,
                     size_t, uint64_t);
  void (*forget_code)(uint64_t);
  void (*code_moved)(uint64_t, uint64_t);
  void (*thread_name)(const char*);
  void (*meta)(const char*, const char*);
  void (*reset_stacks)();
  void (*native_code_range)(uint64_t, uint64_t);
  size_t (*unnamed_pcs_in)(uint64_t, uint64_t, uint64_t*, size_t);
  void (*interpreter_entry)(uint64_t, uint64_t);
  void (*catch_faults)();
  void (*catch_ending_signals)(int);
  void (*allocates_for_memview)(const uint64_t*, int);
  void (*js_exit_slot)(const uint64_t*, const uint64_t*);
};

CoreApi g_core{};
bool g_core_found = false;

template <typename T>
bool bind(void* handle, const char* name, T* slot) {
  *slot = reinterpret_cast<T>(dlsym(handle, name));
  return *slot != nullptr;
}

bool find_core(void* handle) {
  return bind(handle, "memview_is_tracing", &g_core.is_tracing) && bind(handle, "memview_capture_number", &g_core.capture_number) &&
         bind(handle, "memview_native_frames", &g_core.native_frames) &&
         bind(handle, "memview_start", &g_core.start) &&
         bind(handle, "memview_stop", &g_core.stop) && bind(handle, "memview_stop_at_exit", &g_core.stop_at_exit) &&
         bind(handle, "memview_last_error", &g_core.last_error) &&
         bind(handle, "memview_enter", &g_core.enter) && bind(handle, "memview_leave", &g_core.leave) &&
         bind(handle, "memview_set_aside_allocations", &g_core.set_aside_allocations) &&
         bind(handle, "memview_code_added", &g_core.code_added) &&
         bind(handle, "memview_code_moved", &g_core.code_moved) &&
         bind(handle, "memview_forget_code", &g_core.forget_code) &&
         bind(handle, "memview_thread_name", &g_core.thread_name) && bind(handle, "memview_meta", &g_core.meta) &&
         bind(handle, "memview_reset_stacks", &g_core.reset_stacks) &&
         bind(handle, "memview_native_code_range", &g_core.native_code_range) &&
         bind(handle, "memview_unnamed_pcs_in", &g_core.unnamed_pcs_in) &&
         bind(handle, "memview_interpreter_entry", &g_core.interpreter_entry) &&
         bind(handle, "memview_catch_faults", &g_core.catch_faults) &&
         bind(handle, "memview_catch_ending_signals", &g_core.catch_ending_signals) &&
         bind(handle, "memview_allocates_for_memview", &g_core.allocates_for_memview) &&
         bind(handle, "memview_js_exit_slot", &g_core.js_exit_slot);
}

// Line information arrives in START/ADD_LINE_POS/END events before the CODE_ADDED event of the
// same code object; it waits here, keyed by the code's start address.
// A table that lives as long as the process, built in place: the addon is loaded with the program
// running, and three heap blocks made by its constructors showed in every traced program's profile.
// Never destroyed, since V8's threads may still report code while the process exits.
template <typename Table>
Table* process_long_table() {
  alignas(Table) static unsigned char storage[sizeof(Table)];
  return new (storage) Table();  // an empty unordered container allocates nothing
}

struct PendingLines {
  std::vector<std::pair<uint32_t, uint32_t>> offset_and_position;
};
std::mutex g_pending_mutex;
std::unordered_map<uint64_t, PendingLines*>* g_pending = process_long_table<std::unordered_map<uint64_t, PendingLines*>>();

// Builtins as V8 lists them (inside node's own text) while a handler is being installed. With short
// builtin calls V8 runs a copy of them next to each isolate's JIT code, which no event names: the
// copies are named from this list, shifted.
struct BuiltinCode {
  uint64_t start;
  uint64_t size;
  std::string name;
};
thread_local std::vector<BuiltinCode>* t_listed_builtins = nullptr;

// What the core files an isolate's code under (memview_code_added's owner).
inline uint64_t isolate_token(v8::Isolate* isolate) { return reinterpret_cast<uint64_t>(isolate); }

class InsideMemview {
 public:
  InsideMemview() { g_core.enter(); }
  ~InsideMemview() { g_core.leave(); }
};

// Reads ":LINE:COLUMN" from the end of a code name; leaves zeros when it is not there.
void parse_trailing_line_column(const char* name, size_t length, int* line, int* column) {
  int numbers[2] = {0, 0};
  size_t end = length;
  for (int which = 1; which >= 0; which--) {
    size_t start = end;
    while (start > 0 && name[start - 1] >= '0' && name[start - 1] <= '9') start--;
    if (start == end || start == 0 || name[start - 1] != ':') return;
    int value = 0;
    for (size_t i = start; i < end && value < 100000000; i++) value = value * 10 + (name[i] - '0');
    numbers[which] = value;
    end = start - 1;
  }
  *line = numbers[0];
  *column = numbers[1];
}

// Starts of the builtins already reported in this capture (in node's text, shared by all isolates).
std::mutex g_builtins_mutex;
std::unordered_set<uint64_t>* g_reported_builtins = process_long_table<std::unordered_set<uint64_t>>();
int g_reported_builtins_capture = -1;

bool first_listing_of_builtin(uint64_t start) {
  std::lock_guard<std::mutex> hold(g_builtins_mutex);
  // A new capture (Tracker started again) needs every builtin again.
  int capture = g_core.capture_number();
  if (capture != g_reported_builtins_capture) {
    g_reported_builtins->clear();
    g_reported_builtins_capture = capture;
  }
  return g_reported_builtins->insert(start).second;
}

// The builtin every interpreted function runs in (see memview_interpreter_entry).
bool is_interpreter_entry(const char* name, size_t length) {
  static const char kName[] = "Builtin:InterpreterEntryTrampoline";
  return length == sizeof(kName) - 1 && memcmp(name, kName, length) == 0;
}

// V8 names JavaScript code "JS:~name /path/script.js:LINE:COLUMN". The CODE record carries the
// script, line and column in their own fields, so the name keeps only "JS:~name": the same function
// name then interns as one string for every script, and the path is not written once per code
// object. Returns the length to keep (all of it when the name does not end that way).
size_t length_without_location(const char* name, size_t length, const std::string& script) {
  if (script.empty()) return length;
  size_t end = length;
  for (int number = 0; number < 2; number++) {
    size_t start = end;
    while (start > 0 && name[start - 1] >= '0' && name[start - 1] <= '9') start--;
    if (start == end || start == 0 || name[start - 1] != ':') return length;
    end = start - 1;
  }
  if (end < script.size() || memcmp(name + end - script.size(), script.data(), script.size()) != 0) return length;
  size_t cut = end - script.size();
  if (cut > 0 && name[cut - 1] == ' ') cut--;
  return cut;
}

// Source position -> (line, column) for each of a code object's (pc offset, position) pairs, as
// the CODE record's position table wants them: by pc offset, one entry per run of equal (line,
// column). V8's API calls are the cost (each finds the position's line by binary search through
// the script's line ends, behind a handle scope; 45% of this handler's instructions on tsc), so
// they are spent by line, not by position: taken from the end of the source backwards, a position
// at or after the start of the line last asked about lies on that line, and only a position
// before it asks V8 for its line and where that line starts. tsc's ~76,000 positions lie on
// ~34,000 lines; asked per position, with each line's start cached, it took ~114,000 calls.
std::vector<uint32_t> lines_and_columns(v8::Local<v8::UnboundScript> script,
                                        std::vector<std::pair<uint32_t, uint32_t>>& offset_and_position) {
  std::sort(offset_and_position.begin(), offset_and_position.end());
  const size_t count = offset_and_position.size();
  // (position, index in offset_and_position), from the end of the source backwards.
  std::vector<std::pair<uint32_t, uint32_t>> backwards(count);
  for (size_t i = 0; i < count; i++) backwards[i] = {offset_and_position[i].second, static_cast<uint32_t>(i)};
  std::sort(backwards.begin(), backwards.end(), std::greater<>());
  std::vector<std::pair<int, int>> line_and_column(count);
  int line = 0;
  int64_t line_start = 0;
  bool line_known = false;
  for (const auto& [position, index] : backwards) {
    if (!line_known || position < line_start) {
      line = script->GetLineNumber(static_cast<int>(position)) + 1;
      int column = script->GetColumnNumber(static_cast<int>(position)) + 1;
      line_known = line > 0 && column > 0;
      line_start = static_cast<int64_t>(position) - (column - 1);
      line_and_column[index] = {line, column};
      continue;
    }
    line_and_column[index] = {line, static_cast<int>(position - line_start) + 1};
  }
  std::vector<uint32_t> positions;
  int previous_line = -1, previous_column = -1;
  for (size_t i = 0; i < count; i++) {
    const auto [line_here, column] = line_and_column[i];
    if (line_here == previous_line && column == previous_column) continue;
    previous_line = line_here;
    previous_column = column;
    positions.push_back(offset_and_position[i].first);
    positions.push_back(static_cast<uint32_t>(line_here > 0 ? line_here : 0));
    positions.push_back(static_cast<uint32_t>(column > 0 ? column : 0));
  }
  return positions;
}

void on_code_event(const v8::JitCodeEvent* event) {
  if (!g_core_found || !g_core.is_tracing()) return;
  InsideMemview inside;
  // Bytecode arrays are reported like JIT code: the core names an interpreted frame by the address
  // of the bytecode it is running, and their positions map bytecode offsets to lines.
  switch (event->type) {
    case v8::JitCodeEvent::CODE_START_LINE_INFO_RECORDING:
      const_cast<v8::JitCodeEvent*>(event)->user_data = new PendingLines();
      break;
    case v8::JitCodeEvent::CODE_ADD_LINE_POS_INFO: {
      PendingLines* lines = static_cast<PendingLines*>(event->user_data);
      if (lines && event->line_info.position_type == v8::JitCodeEvent::POSITION) {
        lines->offset_and_position.emplace_back(static_cast<uint32_t>(event->line_info.offset),
                                                static_cast<uint32_t>(event->line_info.pos));
      }
      break;
    }
    case v8::JitCodeEvent::CODE_END_LINE_INFO_RECORDING: {
      PendingLines* lines = static_cast<PendingLines*>(event->user_data);
      if (!lines) break;
      std::lock_guard<std::mutex> hold(g_pending_mutex);
      auto& slot = (*g_pending)[reinterpret_cast<uint64_t>(event->code_start)];
      delete slot;
      slot = lines;
      break;
    }
    case v8::JitCodeEvent::CODE_ADDED: {
      PendingLines* lines = nullptr;
      {
        std::lock_guard<std::mutex> hold(g_pending_mutex);
        auto found = g_pending->find(reinterpret_cast<uint64_t>(event->code_start));
        if (found != g_pending->end()) {
          lines = found->second;
          g_pending->erase(found);
        }
      }
      std::string script_name;
      std::vector<uint32_t> positions;
      v8::Isolate* isolate = event->isolate ? event->isolate : v8::Isolate::GetCurrent();
      if (!event->script.IsEmpty()) {
        v8::HandleScope scope(isolate);
        // Consecutive code objects mostly come from one script: its name is made into UTF-8 once.
        // Per thread, as script ids are per isolate, and an isolate keeps to its thread in node.
        thread_local int t_named_script = -1;
        thread_local std::string t_script_name;
        const int script_id = event->script->GetId();
        if (script_id != t_named_script || script_id == v8::UnboundScript::kNoScriptId) {
          t_script_name.clear();
          v8::Local<v8::Value> name = event->script->GetScriptName();
          if (!name.IsEmpty() && name->IsString()) {
            v8::String::Utf8Value utf8(isolate, name);
            if (*utf8) t_script_name.assign(*utf8, utf8.length());
          }
          t_named_script = script_id;
        }
        script_name = t_script_name;
        if (lines) positions = lines_and_columns(event->script, lines->offset_and_position);
      }
      delete lines;
      // V8 names JavaScript code "JS:~name /path/file.js:LINE:COLUMN": the function's own place,
      // which is all an interpreted frame can report.
      int function_line = 0, function_column = 0;
      parse_trailing_line_column(event->name.str, event->name.len, &function_line, &function_column);
      // The isolate whose heap holds the code, so that its end forgets it (forget_isolate_code);
      // the builtins listed from node's text belong to every isolate.
      uint64_t owner = isolate_token(isolate);
      if (t_listed_builtins && event->name.len > 8 && memcmp(event->name.str, "Builtin:", 8) == 0) {
        owner = 0;
        t_listed_builtins->push_back({reinterpret_cast<uint64_t>(event->code_start), event->code_len,
                                      std::string(event->name.str, event->name.len)});
        if (is_interpreter_entry(event->name.str, event->name.len)) {
          g_core.interpreter_entry(reinterpret_cast<uint64_t>(event->code_start),
                                   reinterpret_cast<uint64_t>(event->code_start) + event->code_len);
        }
        // Builtins are native code: without --native no stack keeps them (a pc in node's text that
        // ends a stack is named by its SYMBOL record), so their ~1,700 names would only fill the
        // capture. With --native they are reported once: every isolate lists the same ones again.
        if (!g_core.native_frames() || !first_listing_of_builtin(reinterpret_cast<uint64_t>(event->code_start))) break;
      }
      int code_type = event->code_type == v8::JitCodeEvent::BYTE_CODE   ? 0
                      : event->code_type == v8::JitCodeEvent::WASM_CODE ? 2
                                                                         : 1;
      size_t name_length = function_line > 0 ? length_without_location(event->name.str, event->name.len, script_name)
                                              : event->name.len;
      g_core.code_added(reinterpret_cast<uint64_t>(event->code_start), event->code_len, code_type, event->name.str,
                        name_length, script_name.data(), script_name.size(), function_line, function_column, positions.data(),
                        positions.size() / 3, owner);
      break;
    }
    case v8::JitCodeEvent::CODE_MOVED:
      g_core.code_moved(reinterpret_cast<uint64_t>(event->code_start),
                        reinterpret_cast<uint64_t>(event->new_code_start));
      break;
    default:
      break;
  }
}

Napi::Value LoadCore(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!g_core_found) {
    // Preloaded by `memview run`: the core's symbols are already global.
    g_core_found = find_core(RTLD_DEFAULT);
  }
  if (!g_core_found && info.Length() > 0 && info[0].IsString()) {
    std::string path = info[0].As<Napi::String>();
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (!handle) {
      Napi::Error::New(env, std::string("cannot load the memview core: ") + dlerror()).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    g_core_found = find_core(handle);
  }
  // node has installed its segfault handler by now: memview's goes in front of it.
  if (g_core_found) g_core.catch_faults();
  return Napi::Boolean::New(env, g_core_found);
}

Napi::Value IsTracing(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), g_core_found && g_core.is_tracing());
}

struct Mapping {
  uint64_t start;
  uint64_t end;
  uint64_t file_offset;
  std::string path;
};

std::vector<Mapping> executable_file_mappings() {
  std::vector<Mapping> mappings;
  FILE* maps = fopen("/proc/self/maps", "r");
  if (!maps) return mappings;
  char line[4096];
  while (fgets(line, sizeof(line), maps)) {
    unsigned long start, end, offset;
    char permissions[8], path[3000] = "";
    if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %2999s", &start, &end, permissions, &offset, path) >= 4 &&
        permissions[2] == 'x' && path[0] == '/') {
      mappings.push_back({start, end, offset, path});
    }
  }
  fclose(maps);
  return mappings;
}

// Without --native no builtin is named: stacks drop their frames. But the stacks interned before a
// copy was known (a worker's bootstrap, until memview's script runs in it; the main thread's first
// allocations) took the copy's pcs for JavaScript and keep them: the builtins under those pcs are
// named, so that such a frame reads as the builtin it is rather than "[unknown 0x...]".
void name_builtins_under_unnamed_pcs(const std::vector<BuiltinCode>& builtins, uint64_t first, uint64_t copy_first,
                                     uint64_t copy_end) {
  uint64_t pcs[256];
  const size_t count = g_core.unnamed_pcs_in(copy_first, copy_end, pcs, sizeof(pcs) / sizeof(pcs[0]));
  if (count == 0) return;
  std::vector<const BuiltinCode*> by_start;
  by_start.reserve(builtins.size());
  for (const BuiltinCode& builtin : builtins) by_start.push_back(&builtin);
  std::sort(by_start.begin(), by_start.end(), [](const BuiltinCode* a, const BuiltinCode* b) { return a->start < b->start; });
  std::vector<const BuiltinCode*> named;
  for (size_t i = 0; i < count; i++) {
    const uint64_t original = pcs[i] - 1 - copy_first + first;  // the call instruction, in node's text
    auto after = std::upper_bound(by_start.begin(), by_start.end(), original,
                                  [](uint64_t address, const BuiltinCode* builtin) { return address < builtin->start; });
    if (after == by_start.begin()) continue;
    const BuiltinCode* builtin = *(after - 1);
    if (original >= builtin->start + builtin->size) continue;
    if (std::find(named.begin(), named.end(), builtin) != named.end()) continue;
    named.push_back(builtin);
    g_core.code_added(copy_first + (builtin->start - first), builtin->size, 1, builtin->name.data(), builtin->name.size(), "", 0,
                      0, 0, nullptr, 0, isolate_token(v8::Isolate::GetCurrent()));
  }
}

// V8 may run its builtins from a second mapping of node's own file placed next to the JIT code
// (short builtin calls), which no code event names. Such a copy is found in /proc/self/maps as
// another executable mapping of the same file at the builtins' file offset; the builtins listed at
// their original addresses are then named once more at the copy.
void name_builtin_copies(const std::vector<BuiltinCode>& builtins) {
  if (builtins.empty()) return;
  uint64_t first = UINT64_MAX, last = 0;
  for (const BuiltinCode& builtin : builtins) {
    first = std::min(first, builtin.start);
    last = std::max(last, builtin.start + builtin.size);
  }
  std::vector<Mapping> mappings = executable_file_mappings();
  const Mapping* original = nullptr;
  for (const Mapping& mapping : mappings) {
    if (first >= mapping.start && first < mapping.end) original = &mapping;
  }
  if (!original) return;
  uint64_t first_file_offset = first - original->start + original->file_offset;
  for (const Mapping& mapping : mappings) {
    if (&mapping == original || mapping.path != original->path) continue;
    if (first_file_offset < mapping.file_offset || first_file_offset >= mapping.file_offset + (mapping.end - mapping.start)) continue;
    uint64_t copy_first = mapping.start + (first_file_offset - mapping.file_offset);
    if (copy_first + (last - first) > mapping.end) continue;
    InsideMemview inside;
    // Builtins are V8's machinery, not JavaScript: without --native they are not kept, and need
    // no names.
    g_core.native_code_range(copy_first, copy_first + (last - first));
    if (!g_core.native_frames()) {
      name_builtins_under_unnamed_pcs(builtins, first, copy_first, copy_first + (last - first));
      continue;
    }
    for (const BuiltinCode& builtin : builtins) {
      g_core.code_added(copy_first + (builtin.start - first), builtin.size, 1, builtin.name.data(), builtin.name.size(), "",
                        0, 0, 0, nullptr, 0, isolate_token(v8::Isolate::GetCurrent()));
    }
  }
}

// V8's functions that allocate only because a JIT code event handler listens: CodeEventLogger
// turns each new code object's name into a C string for the handler (tsc: 12,500 allocations).
// Their names are Node 20's (V8 11.3); another V8 spells them differently, finds none, and its
// captures keep those allocations as before.
const char* const kLoggerFunctions[] = {
    "_ZN2v88internal15CodeEventLogger15CodeCreateEventENS0_16LogEventListener7CodeTagENS0_6HandleINS0_12AbstractCodeEEEPKc",
    "_ZN2v88internal15CodeEventLogger15CodeCreateEventENS0_16LogEventListener7CodeTagENS0_6HandleINS0_12AbstractCodeEEENS4_INS0_4NameEEE",
    "_ZN2v88internal15CodeEventLogger15CodeCreateEventENS0_16LogEventListener7CodeTagENS0_6HandleINS0_12AbstractCodeEEENS4_"
    "INS0_18SharedFunctionInfoEEENS4_INS0_4NameEEE",
    "_ZN2v88internal15CodeEventLogger15CodeCreateEventENS0_16LogEventListener7CodeTagENS0_6HandleINS0_12AbstractCodeEEENS4_"
    "INS0_18SharedFunctionInfoEEENS4_INS0_4NameEEEii",
    "_ZN2v88internal15CodeEventLogger15CodeCreateEventENS0_16LogEventListener7CodeTagEPKNS0_4wasm8WasmCodeENS_4base6VectorIKcEEPSA_ii",
    "_ZN2v88internal15CodeEventLogger21RegExpCodeCreateEventENS0_6HandleINS0_12AbstractCodeEEENS2_INS0_6StringEEE",
};

void report_logger_functions() {
  // The same functions of node's text for every isolate; workers' isolates may ask at once.
  static std::atomic<bool> reported{false};
  if (reported.exchange(true)) return;
  uint64_t ranges[2 * (sizeof(kLoggerFunctions) / sizeof(kLoggerFunctions[0]))];
  int count = 0;
  for (const char* name : kLoggerFunctions) {
    const memview::FunctionRange range = memview::exported_function(name);
    if (range.end == 0) continue;
    ranges[2 * count] = range.start;
    ranges[2 * count + 1] = range.end;
    count++;
  }
  if (count > 0) g_core.allocates_for_memview(ranges, count);
}

// The isolates whose end will forget their code: each gets one cleanup hook (node aborts on a
// second registration of the same hook, and a Tracker may watch its isolate again). The main
// isolate, the first watched, gets none: it ends with the process.
std::mutex g_hooked_mutex;
std::unordered_set<v8::Isolate*>* g_hooked_isolates = process_long_table<std::unordered_set<v8::Isolate*>>();
std::atomic<v8::Isolate*> g_first_isolate{nullptr};

void forget_isolate_code(void* data) {
  v8::Isolate* isolate = static_cast<v8::Isolate*>(data);
  {
    std::lock_guard<std::mutex> hold(g_hooked_mutex);
    g_hooked_isolates->erase(isolate);
  }
  isolate->SetJitCodeEventHandler(v8::kJitCodeEventDefault, nullptr);
  g_core.forget_code(isolate_token(isolate));
}

void forget_code_when_isolate_ends(napi_env env, v8::Isolate* isolate) {
  v8::Isolate* first = nullptr;
  if (g_first_isolate.compare_exchange_strong(first, isolate) || first == isolate) return;
  {
    std::lock_guard<std::mutex> hold(g_hooked_mutex);
    if (!g_hooked_isolates->insert(isolate).second) return;
  }
  napi_add_env_cleanup_hook(env, forget_isolate_code, isolate);
}

Napi::Value WatchIsolate(const Napi::CallbackInfo& info) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  if (g_core_found && isolate) {
    report_logger_functions();
    std::vector<BuiltinCode> builtins;
    t_listed_builtins = &builtins;
    {
      // V8 allocates while it lists the existing code for memview: not the program's memory.
      InsideMemview inside;
      isolate->SetJitCodeEventHandler(v8::kJitCodeEventEnumExisting, on_code_event);
    }
    t_listed_builtins = nullptr;
    name_builtin_copies(builtins);
    // Stacks interned before the existing code was listed hold pcs that had no name yet.
    g_core.reset_stacks();
    // A worker's environment goes before its isolate: from then on no event comes, and the code
    // it reported is forgotten (a program starting workers all day would otherwise keep them all).
    forget_code_when_isolate_ends(info.Env(), isolate);
  }
  return info.Env().Undefined();
}

// ---- the isolate's innermost exit frame -------------------------------------------------------
//
// V8 keeps, per isolate, the address of the innermost frame through which JavaScript called C++
// (its c_entry_fp; see memview_js_exit_slot). The API has no accessor, so it is found by where it
// is in the isolate object: from inside a call from JavaScript (which builds such a frame), the
// words of the isolate that hold one of this call's frame addresses are candidates, and a second
// call one JavaScript frame deeper keeps the one candidate that moved with it. The outermost entry
// frame, through which C++ first called JavaScript (V8's js_entry_sp), is also kept there, a few
// words on (the same ThreadLocalTop): the one candidate near it that holds a frame further out and
// did not move; walks end there. One offset each for the process: every isolate is the same V8.
constexpr size_t kIsolateBytesSearched = 64 * 1024;
constexpr size_t kNoOffset = ~size_t{0};
constexpr size_t kEntryWordsAfterExit = 8;  // how far past the exit frame's word the entry's is looked for
std::mutex g_exit_mutex;
size_t g_exit_offset = kNoOffset;
size_t g_entry_offset = kNoOffset;
std::vector<std::pair<size_t, uint64_t>>* g_exit_candidates = process_long_table<std::vector<std::pair<size_t, uint64_t>>>();
std::unordered_set<v8::Isolate*>* g_exit_isolates = process_long_table<std::unordered_set<v8::Isolate*>>();

// This call's frame addresses, innermost first, as far as the chain goes (at most `capacity`).
__attribute__((noinline)) size_t frame_addresses(uint64_t* out, size_t capacity) {
  uint64_t frame = reinterpret_cast<uint64_t>(__builtin_frame_address(0));
  size_t count = 0;
  while (count < capacity) {
    out[count++] = frame;
    const uint64_t next = *reinterpret_cast<const uint64_t*>(frame);
    if (next <= frame || next - frame > (1u << 20) || (next & 7) != 0) break;
    frame = next;
  }
  return count;
}

// The isolate's first words, read through process_vm_readv: the object's size is V8's to know, and
// a read past its end must stop short rather than fault (the call returns what it could read).
// Returns how many words were read: none where the call is not allowed.
size_t read_isolate_words(v8::Isolate* isolate, std::vector<uint64_t>* words) {
  words->assign(kIsolateBytesSearched / 8, 0);
  iovec local{words->data(), kIsolateBytesSearched};
  iovec remote{isolate, kIsolateBytesSearched};
  const ssize_t got = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
  return got > 0 ? static_cast<size_t>(got) / 8 : 0;
}

void forget_exit_slot(void* data) {
  g_core.js_exit_slot(nullptr, nullptr);
  std::lock_guard<std::mutex> hold(g_exit_mutex);
  g_exit_isolates->erase(static_cast<v8::Isolate*>(data));
}

// Gives the core this thread's isolate's exit-frame slot (and entry-frame slot, when known), and
// takes them back before the isolate goes.
void use_exit_slot(napi_env env, v8::Isolate* isolate, size_t offset, size_t entry_offset) {
  const char* base = reinterpret_cast<const char*>(isolate);
  g_core.js_exit_slot(reinterpret_cast<const uint64_t*>(base + offset),
                      entry_offset == kNoOffset ? nullptr : reinterpret_cast<const uint64_t*>(base + entry_offset));
  std::lock_guard<std::mutex> hold(g_exit_mutex);
  if (g_exit_isolates->insert(isolate).second) napi_add_env_cleanup_hook(env, forget_exit_slot, isolate);
}

// probeJsExit(0) then, from a function one frame deeper, probeJsExit(1). True once the slot is
// known and in use for this thread.
Napi::Value ProbeJsExit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  const int phase = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : -1;
  if (!g_core_found || isolate == nullptr || (phase != 0 && phase != 1)) return Napi::Boolean::New(env, false);
  InsideMemview inside;
  size_t known, known_entry;
  {
    std::lock_guard<std::mutex> hold(g_exit_mutex);
    known = g_exit_offset;
    known_entry = g_entry_offset;
  }
  if (known == kNoOffset) {
    uint64_t frames[256];
    const size_t frame_count = frame_addresses(frames, 256);
    std::vector<uint64_t> words;
    const size_t word_count = read_isolate_words(isolate, &words);
    auto is_frame = [&](uint64_t value) { return value != 0 && std::find(frames, frames + frame_count, value) != frames + frame_count; };
    std::lock_guard<std::mutex> hold(g_exit_mutex);
    if (phase == 0) {
      g_exit_candidates->clear();
      for (size_t i = 0; i < word_count; i++) {
        if (is_frame(words[i])) g_exit_candidates->emplace_back(i * 8, words[i]);
      }
      return Napi::Boolean::New(env, false);
    }
    size_t found = kNoOffset;
    int survivors = 0;
    for (const auto& [offset, first_value] : *g_exit_candidates) {
      const uint64_t value = offset / 8 < word_count ? words[offset / 8] : 0;
      // One frame deeper in JavaScript: the exit frame lies further in (lower).
      if (is_frame(value) && value < first_value) {
        found = offset;
        survivors++;
      }
    }
    if (survivors != 1) {
      g_exit_candidates->clear();
      return Napi::Boolean::New(env, false);
    }
    // The entry frame: unmoved, further out than the exit frame, just after its word.
    size_t entry = kNoOffset;
    int entries = 0;
    const uint64_t exit_value = words[found / 8];
    for (const auto& [offset, first_value] : *g_exit_candidates) {
      if (offset <= found || offset > found + kEntryWordsAfterExit * 8) continue;
      const uint64_t value = offset / 8 < word_count ? words[offset / 8] : 0;
      if (value == first_value && value > exit_value && is_frame(value)) {
        entry = offset;
        entries++;
      }
    }
    g_exit_candidates->clear();
    g_exit_offset = found;
    g_entry_offset = entries == 1 ? entry : kNoOffset;
    known = found;
    known_entry = g_entry_offset;
  } else if (phase == 0) {
    return Napi::Boolean::New(env, false);
  }
  use_exit_slot(env, isolate, known, known_entry);
  return Napi::Boolean::New(env, true);
}

Napi::Value UnwatchIsolate(const Napi::CallbackInfo& info) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  if (isolate) isolate->SetJitCodeEventHandler(v8::kJitCodeEventDefault, nullptr);
  return info.Env().Undefined();
}

Napi::Value Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!g_core_found) {
    Napi::Error::New(env, "the memview core is not loaded").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string path = info[0].As<Napi::String>();
  bool native_frames = info[1].ToBoolean();
  int interval = info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : 10;
  int error = g_core.start(path.c_str(), native_frames ? 1 : 0, interval);
  if (error != 0) {
    Napi::Error::New(env, g_core.last_error()).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return env.Undefined();
}

// finishOnEndingSignals(['SIGINT', ...]): the capture is finished in the signal's handler, at once
// (fatal_signals.h, catch_ending_signals_in_front), for the signals named.
Napi::Value FinishOnEndingSignals(const Napi::CallbackInfo& info) {
  if (!g_core_found || info.Length() < 1 || !info[0].IsArray()) return info.Env().Undefined();
  const Napi::Array names = info[0].As<Napi::Array>();
  int mask = 0;
  for (uint32_t i = 0; i < names.Length(); i++) {
    const std::string name = names.Get(i).ToString().Utf8Value();
    if (name == "SIGINT") mask |= 1 << SIGINT;
    else if (name == "SIGTERM") mask |= 1 << SIGTERM;
    else if (name == "SIGHUP") mask |= 1 << SIGHUP;
  }
  g_core.catch_ending_signals(mask);
  return info.Env().Undefined();
}

Napi::Value Stop(const Napi::CallbackInfo& info) {
  if (g_core_found) {
    std::string reason = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "stopped";
    g_core.stop(reason.c_str());
  }
  return info.Env().Undefined();
}

// The capture of a process that is exiting: tracing ends here, and the core finishes the file while
// node tears itself down (its library destructor waits for it before the process ends).
Napi::Value StopAtExit(const Napi::CallbackInfo& info) {
  if (g_core_found) g_core.stop_at_exit("exit");
  return info.Env().Undefined();
}

Napi::Value SetThreadName(const Napi::CallbackInfo& info) {
  if (g_core_found) g_core.thread_name(info[0].As<Napi::String>().Utf8Value().c_str());
  return info.Env().Undefined();
}

// register.cjs and the Tracker API set the process up with this thread's fresh allocations left
// out of the capture.
Napi::Value SetAsideAllocations(const Napi::CallbackInfo& info) {
  if (g_core_found) g_core.set_aside_allocations(info[0].As<Napi::Boolean>().Value() ? 1 : 0);
  return info.Env().Undefined();
}

Napi::Value Meta(const Napi::CallbackInfo& info) {
  if (g_core_found) {
    g_core.meta(info[0].As<Napi::String>().Utf8Value().c_str(), info[1].As<Napi::String>().Utf8Value().c_str());
  }
  return info.Env().Undefined();
}

// Making the exports allocates (V8's functions, handles, maps) before register.cjs can ask for its
// window, so Init sets its own allocations aside when the core is preloaded (`memview run`).
class SetAsideWhileInitialising {
 public:
  SetAsideWhileInitialising()
      : set_aside_(reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "memview_set_aside_allocations"))) {
    if (set_aside_) set_aside_(1);
  }
  ~SetAsideWhileInitialising() {
    if (set_aside_) set_aside_(0);
  }

 private:
  void (*set_aside_)(int);
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  SetAsideWhileInitialising set_aside;
  exports.Set("loadCore", Napi::Function::New(env, LoadCore));
  exports.Set("isTracing", Napi::Function::New(env, IsTracing));
  exports.Set("watchIsolate", Napi::Function::New(env, WatchIsolate));
  exports.Set("unwatchIsolate", Napi::Function::New(env, UnwatchIsolate));
  exports.Set("probeJsExit", Napi::Function::New(env, ProbeJsExit));
  exports.Set("start", Napi::Function::New(env, Start));
  exports.Set("stopAtExit", Napi::Function::New(env, StopAtExit));
  exports.Set("stop", Napi::Function::New(env, Stop));
  exports.Set("finishOnEndingSignals", Napi::Function::New(env, FinishOnEndingSignals));
  exports.Set("setThreadName", Napi::Function::New(env, SetThreadName));
  exports.Set("setAsideAllocations", Napi::Function::New(env, SetAsideAllocations));
  exports.Set("meta", Napi::Function::New(env, Meta));
  return exports;
}

}  // namespace

NODE_API_MODULE(memview, Init)
