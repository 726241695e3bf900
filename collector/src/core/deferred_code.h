// Code objects V8 reported, held back until a stack goes through them. Most code is never on an
// allocating stack (a JSON workload: 199 of 1,102 code objects; with --native 286 of 4,500), yet
// its name, script and positions were a third of a short program's capture. A code object's CODE
// record is written just before the first STACK record whose pc falls in it, which is all a reader
// needs: it names a stack node with the code known when the node is defined.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace memview {

struct CodeDescription {
  uint64_t start = 0;
  uint64_t size = 0;
  int code_type = 0;
  std::string name;
  std::string script;
  int line = 0;
  int column = 0;
  std::vector<uint32_t> positions;  // (pc offset, line, column) triples
};

class DeferredCode {
 public:
  /**
   * New code over [code.start, code.start + code.size); replaces whatever it overlaps. False when
   * this very code is already known at this place (V8 lists code to every isolate's handler).
   * `owner` is the isolate whose heap holds it (0: code every isolate shares, in node's text).
   */
  bool add(CodeDescription&& code, uint64_t identity, uint64_t owner = 0);

  /**
   * The isolate `owner` is gone (a worker ended): its code is dropped. Without this every worker
   * a program starts and ends left its ~2,000 code descriptions behind (~1 MB a worker). Calls
   * unreferenced(start, end) for each dropped code object no stack went through (never written).
   */
  template <typename Unreferenced>
  void forget_owner(uint64_t owner, Unreferenced&& unreferenced) {
    if (owner == 0) return;
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->second.owner != owner) {
        ++it;
        continue;
      }
      if (it->second.written) written_generation_++;
      else unreferenced(it->first, it->second.end);
      it = entries_.erase(it);
    }
    layout_generation_++;
  }

  enum class Move { kWritten, kPending, kUnknown };
  /** V8 moved the code at `from` to `to`. Only written code needs a CODE move record. */
  Move move(uint64_t from, uint64_t to);

  /**
   * The code covering `call_site` if it was not written yet, now counted as written; nullptr
   * otherwise. *covered tells whether any code covers it. The description stays valid until the
   * next call of any method.
   */
  const CodeDescription* take_unwritten(uint64_t call_site, bool* covered);

  /**
   * A new capture (a fork child, a restarted Tracker) has none of the code records written so far:
   * every code object is unwritten again. V8 does not list its code again in a fork child, so
   * this is how the child's capture names the JavaScript it inherited.
   */
  void forget_written();

 private:
  struct Entry {
    uint64_t end;
    uint64_t identity;
    uint64_t owner;
    bool written;
    CodeDescription code;
  };
  void remove_overlapping(uint64_t start, uint64_t end);

  std::map<uint64_t, Entry> entries_;  // by start
  // Ranges known to need nothing, checked before the map (its search misses the cache at every
  // level, and most new stack nodes go through code written already, or through native code that
  // no code object covers). A memo holds a whole range, the written code or the gap between two
  // code objects, filed under the 64-byte granule of the call site that found it: an interpreted
  // frame's call site is the bytecode it runs, so a new stack through a function written already
  // mostly brings a call site the memo has not seen, in a range it has. A memo of written code
  // holds while no written code is replaced or moved, a memo of no code while no code is added or
  // moved: each such change starts a new generation of the memos it can make wrong.
  static constexpr size_t kMemoSize = 4096;
  struct Memo {
    uint64_t start;
    uint64_t end;
    uint32_t generation;
    bool covered;  // by written code; else by no code at all
  };
  static size_t memo_index(uint64_t call_site) { return (((call_site >> 6) * 0x9E3779B97F4A7C15ull) >> 52) & (kMemoSize - 1); }
  Memo memos_[kMemoSize] = {};
  uint32_t written_generation_ = 1;
  uint32_t layout_generation_ = 1;
};

}  // namespace memview
