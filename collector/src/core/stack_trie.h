// Call stacks interned as a trie: every event carries one node id instead of its frames, and only
// new (parent, pc) edges are written to the capture. The index is an open-addressing hash table
// keyed by (parent id, pc), because the trie is only ever walked from the root down.
#pragma once
#include <cstddef>
#include <cstdint>

namespace memview {

class StackTrie {
 public:
  StackTrie();
  ~StackTrie();
  StackTrie(const StackTrie&) = delete;
  StackTrie& operator=(const StackTrie&) = delete;

  /** The child of `parent` for `pc`; `created` tells whether the edge is new. */
  uint32_t child(uint32_t parent, uint64_t pc, bool* created);

  /** Calls visit(key) with the pc key of every node. */
  template <typename Visit>
  void for_each_pc(Visit visit) const {
    for (size_t i = 0; i <= mask_; i++) {
      if (slots_[i].id != 0) visit(slots_[i].pc);
    }
  }

  /** Forgets every node; ids start again at 1 (0 is the empty stack). */
  void reset();

 private:
  struct Slot {
    uint64_t pc;
    uint32_t parent;
    uint32_t id;  // 0 = empty
  };
  void grow();
  Slot* slots_;
  size_t mask_;
  size_t used_;
  uint32_t next_id_;
};

}  // namespace memview
