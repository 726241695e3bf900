// Call stacks interned as a trie: every event carries one node id instead of its frames, and only
// new (parent, pc) edges are written to the capture. The index is an open-addressing hash table
// keyed by (parent id, pc), because the trie is only ever walked from the root down.
//
// A node's slot is found from a hash of its path (the pcs from the root), not from its parent's
// id: a caller can compute where every frame of a new stack will be probed before it knows a
// single id, and bring those slots into cache together. With --native a tsc run creates ~700,000
// nodes in a table of tens of MB; looked up one after another, each probe waited for memory
// (~100 ns, 80 ms of tsc's main thread).
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace memview {

class StackTrie {
 public:
  StackTrie();
  ~StackTrie();
  StackTrie(const StackTrie&) = delete;
  StackTrie& operator=(const StackTrie&) = delete;

  /** The path hash of the empty stack. */
  static constexpr uint64_t kRootHash = 0x243F6A8885A308D3ull;

  /** The path hash of the child for `key` of a node whose path hash is `parent_hash`. Only the
   * key's pc bits count (a salt, reused_code.h, does not move the slot), so it can be computed
   * from raw pcs ahead of the salts. */
  static uint64_t path_hash(uint64_t parent_hash, uint64_t key) {
    uint64_t h = (parent_hash ^ (key & ((uint64_t{1} << 48) - 1))) * 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 31);
  }

  /** Brings into cache the slot where a node of path hash `hash` is probed first. Safe without the
   * lock that guards every other call: it reads a possibly stale table, and a prefetch never faults. */
  void prefetch(uint64_t hash) const {
    const uintptr_t base = prefetch_base_.load(std::memory_order_relaxed);
    const size_t mask = prefetch_mask_.load(std::memory_order_relaxed);
    __builtin_prefetch(reinterpret_cast<const void*>(base + (hash & mask) * sizeof(Slot)), 1);
  }

  /** The child of `parent` for `key`; `hash` is its path hash (path_hash of the parent's);
   * `created` tells whether the edge is new. */
  uint32_t child(uint32_t parent, uint64_t key, uint64_t hash, bool* created);

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
  void publish_for_prefetch();
  Slot* slots_;
  size_t mask_;
  size_t used_;
  uint32_t next_id_;
  // The path hash of every node by id (ids are dense from 1): grow() places nodes by it again.
  uint64_t* hashes_;
  size_t hashes_capacity_;
  std::atomic<uintptr_t> prefetch_base_;
  std::atomic<size_t> prefetch_mask_;
};

}  // namespace memview
