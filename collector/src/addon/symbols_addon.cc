// Names native pcs from the object files on disk, for a capture whose process died before it
// wrote its own SYMBOL records (killed by SIGKILL or the OOM killer). Loaded by the CLI only, never
// into a traced program: it holds no tracing state.
#include <napi.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "../core/object_symbols.h"

namespace {

// nameObjectPcs(path, buildId: Uint8Array, loadBias: number, pcs: number[])
//   -> { status: 'named' | 'unreadable' | 'other-build', symbols: [{pc, function, file, line}],
//        debugFile: the separate debug file used, or null }
// pcs and the bias are below 2^53 (user-space addresses on x86-64 are below 2^47).
Napi::Value NameObjectPcs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsString() || !info[1].IsTypedArray() || !info[2].IsNumber() || !info[3].IsArray()) {
    Napi::TypeError::New(env, "nameObjectPcs(path, buildId, loadBias, pcs)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  Napi::Uint8Array build_id = info[1].As<Napi::Uint8Array>();
  uint64_t load_bias = static_cast<uint64_t>(info[2].As<Napi::Number>().DoubleValue());
  Napi::Array given = info[3].As<Napi::Array>();
  std::vector<uint64_t> pcs;
  pcs.reserve(given.Length());
  for (uint32_t i = 0; i < given.Length(); i++) {
    pcs.push_back(static_cast<uint64_t>(given.Get(i).As<Napi::Number>().DoubleValue()));
  }
  std::sort(pcs.begin(), pcs.end());
  pcs.erase(std::unique(pcs.begin(), pcs.end()), pcs.end());

  Napi::Array symbols = Napi::Array::New(env);
  uint32_t count = 0;
  std::string debug_file;
  memview::ObjectSymbolsResult result = memview::symbolize_object_pcs(
      path.c_str(), load_bias, pcs, build_id.Data(), build_id.ElementLength(), /*inflate_compressed=*/true,
      [&](uint64_t pc, const char* function, const char* file, uint32_t line) {
        Napi::Object symbol = Napi::Object::New(env);
        symbol.Set("pc", Napi::Number::New(env, static_cast<double>(pc)));
        symbol.Set("function", function ? Napi::String::New(env, function) : env.Null());
        symbol.Set("file", file ? Napi::String::New(env, file) : env.Null());
        symbol.Set("line", Napi::Number::New(env, line));
        symbols.Set(count++, symbol);
      },
      &debug_file);
  Napi::Object answer = Napi::Object::New(env);
  answer.Set("status", result == memview::ObjectSymbolsResult::kNamed      ? "named"
                       : result == memview::ObjectSymbolsResult::kOtherBuild ? "other-build"
                                                                             : "unreadable");
  answer.Set("symbols", symbols);
  answer.Set("debugFile", debug_file.empty() ? env.Null() : Napi::String::New(env, debug_file));
  return answer;
}

// buildIdOf(path) -> Uint8Array (empty when the file has none or is no ELF file we can read).
Napi::Value BuildIdOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "buildIdOf(path)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::vector<uint8_t> id = memview::build_id_of_file(info[0].As<Napi::String>().Utf8Value().c_str());
  Napi::Uint8Array bytes = Napi::Uint8Array::New(env, id.size());
  for (size_t i = 0; i < id.size(); i++) bytes[i] = id[i];
  return bytes;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("nameObjectPcs", Napi::Function::New(env, NameObjectPcs));
  exports.Set("buildIdOf", Napi::Function::New(env, BuildIdOf));
  return exports;
}

}  // namespace

NODE_API_MODULE(memview_symbols, Init)
