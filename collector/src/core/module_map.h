// The loaded ELF objects and their executable segments: tells a native pc from a JIT one in the
// hook (a pc in no module is JIT code), and feeds the capture's MODULE records so a reader can
// name native frames.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace memview {

struct ModuleInfo {
  uint64_t load_bias;
  char path[512];
  uint8_t build_id[64];
  size_t build_id_length;
  size_t segment_count;
  uint64_t segment_start[8];
  uint64_t segment_length[8];
};

class ModuleMap {
 public:
  /**
   * Re-reads the loaded objects (new ones are appended; module(i) for i < module_count()).
   * One refresh at a time, and never under the tracker's lock: dl_iterate_phdr takes the loader's
   * lock, which dlclose holds while it frees (tracker.cpp, g_modules_lock).
   */
  void refresh() { scan(); }

  /** The i-th object seen (i < module_count()). */
  const ModuleInfo& module(size_t i) const { return modules_[i]; }

  /**
   * Marks [start, end) as native code although no loaded object maps it there: V8's copy of its
   * builtins (a second mapping of node's own file). Kept across refreshes. Not at the same time
   * as a refresh (both rewrite the published table). False when the range was known already, or
   * the table of such ranges is full.
   */
  bool add_native_range(uint64_t start, uint64_t end);

  /** True when pc lies in an executable segment of a loaded object (or a native range). */
  // Called without the tracker's lock (every hooked allocation classifies its new frames), so it
  // reads a published table that a refresh never writes in place. Two refreshes in a row would
  // rewrite the table a slow reader still holds: the version (bumped before each rewrite) tells
  // the reader to look again.
  bool contains(uint64_t pc) const {
    while (true) {
      uint64_t version = version_.load(std::memory_order_acquire);
      const RangeTable* table = published_.load(std::memory_order_acquire);
      if (table == nullptr) return false;
      size_t count = table->count < kTableCapacity ? table->count : kTableCapacity;
      size_t low = 0, high = count;
      while (low < high) {
        size_t middle = (low + high) / 2;
        if (table->ranges[middle].end <= pc) low = middle + 1;
        else high = middle;
      }
      bool inside = low < count && table->ranges[low].start <= pc;
      std::atomic_thread_fence(std::memory_order_acquire);
      if (version_.load(std::memory_order_relaxed) == version) return inside;
    }
  }

  /**
   * Changes whenever the answers of contains() may change: a cache of its answers read after
   * this stays valid while it returns the same value.
   */
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

  /** How many objects have been seen so far (entries are never removed). */
  uint32_t module_count() const { return static_cast<uint32_t>(module_count_); }

  /**
   * The object whose executable segment held `pc` when the first `modules_loaded` objects were
   * known, or null: the newest of them, since an object unloaded since then keeps its entry and a
   * later load may have reused its addresses.
   */
  const ModuleInfo* module_of(uint64_t pc, uint32_t modules_loaded) const {
    for (size_t i = modules_loaded < module_count_ ? modules_loaded : module_count_; i-- > 0;) {
      for (size_t s = 0; s < modules_[i].segment_count; s++) {
        if (pc >= modules_[i].segment_start[s] && pc < modules_[i].segment_start[s] + modules_[i].segment_length[s]) return &modules_[i];
      }
    }
    return nullptr;
  }

  /** [start, end) of the executable segment holding `address`, or false. */
  bool segment_of(uint64_t address, uint64_t* start, uint64_t* end) const;

 private:
  void scan();
  static constexpr size_t kMaxModules = 1024;
  struct Range {
    uint64_t start;
    uint64_t end;
  };
  ModuleInfo modules_[kMaxModules];
  size_t module_count_ = 0;
  static constexpr size_t kMaxNativeRanges = 16;
  static constexpr size_t kTableCapacity = kMaxModules * 2 + kMaxNativeRanges;
  struct RangeTable {
    size_t count;
    Range ranges[kTableCapacity];
  };
  /** Rebuilds the executable ranges into the table readers are not using and publishes it. */
  void publish_ranges();
  RangeTable tables_[2];  // no initialiser: a table is read only once publish_ranges has filled it
  std::atomic<RangeTable*> published_{nullptr};
  // Bumped before a table is rewritten and once it is published. Each map (a new capture, a
  // followed fork child) starts from its own range of values, so that a thread's cache of answers
  // from an earlier map can never match a later one's version.
  static uint64_t next_version_base();
  std::atomic<uint64_t> version_{next_version_base()};
  Range native_ranges_[kMaxNativeRanges];
  size_t native_range_count_ = 0;
};

}  // namespace memview
