#include "module_map.h"

#include <elf.h>
#include <link.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>

namespace memview {
namespace {

struct ScanState {
  ModuleInfo* modules;
  size_t* module_count;
  size_t capacity;
};

void read_build_id(const dl_phdr_info* info, ModuleInfo* module) {
  module->build_id_length = 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& header = info->dlpi_phdr[i];
    if (header.p_type != PT_NOTE) continue;
    const uint8_t* note = reinterpret_cast<const uint8_t*>(info->dlpi_addr + header.p_vaddr);
    const uint8_t* end = note + header.p_memsz;
    while (note + sizeof(ElfW(Nhdr)) <= end) {
      const ElfW(Nhdr)* note_header = reinterpret_cast<const ElfW(Nhdr)*>(note);
      const uint8_t* name = note + sizeof(ElfW(Nhdr));
      const uint8_t* descriptor = name + ((note_header->n_namesz + 3) & ~3u);
      if (note_header->n_type == NT_GNU_BUILD_ID && note_header->n_namesz == 4 &&
          memcmp(name, "GNU", 4) == 0 && note_header->n_descsz <= sizeof(module->build_id)) {
        memcpy(module->build_id, descriptor, note_header->n_descsz);
        module->build_id_length = note_header->n_descsz;
        return;
      }
      note = descriptor + ((note_header->n_descsz + 3) & ~3u);
    }
  }
}

int visit_object(dl_phdr_info* info, size_t, void* data) {
  ScanState* state = static_cast<ScanState*>(data);
  // The executable itself reports an empty name; vdso reports "linux-vdso.so.1".
  uint64_t first_exec = 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& header = info->dlpi_phdr[i];
    if (header.p_type == PT_LOAD && (header.p_flags & PF_X)) {
      first_exec = info->dlpi_addr + header.p_vaddr;
      break;
    }
  }
  if (first_exec == 0) return 0;
  for (size_t i = 0; i < *state->module_count; i++) {
    const ModuleInfo& known = state->modules[i];
    if (known.load_bias == info->dlpi_addr && known.segment_count > 0 && known.segment_start[0] == first_exec) return 0;
  }
  if (*state->module_count >= state->capacity) return 0;
  // Filled before it is counted: module_of may be reading the entries counted so far.
  ModuleInfo& module = state->modules[*state->module_count];
  module.load_bias = info->dlpi_addr;
  const char* name = info->dlpi_name;
  if (name == nullptr || name[0] == 0) {
    ssize_t length = readlink("/proc/self/exe", module.path, sizeof(module.path) - 1);
    module.path[length > 0 ? length : 0] = 0;
  } else {
    strncpy(module.path, name, sizeof(module.path) - 1);
    module.path[sizeof(module.path) - 1] = 0;
  }
  module.segment_count = 0;
  for (int i = 0; i < info->dlpi_phnum && module.segment_count < 8; i++) {
    const ElfW(Phdr)& header = info->dlpi_phdr[i];
    if (header.p_type != PT_LOAD || !(header.p_flags & PF_X)) continue;
    module.segment_start[module.segment_count] = info->dlpi_addr + header.p_vaddr;
    module.segment_length[module.segment_count] = header.p_memsz;
    module.segment_count++;
  }
  read_build_id(info, &module);
  std::atomic_thread_fence(std::memory_order_release);
  (*state->module_count)++;
  return 0;
}

}  // namespace

void ModuleMap::scan() {
  ScanState state{modules_, &module_count_, kMaxModules};
  dl_iterate_phdr(visit_object, &state);
  publish_ranges();
}

uint64_t ModuleMap::next_version_base() {
  static std::atomic<uint64_t> maps_made{0};
  return (maps_made.fetch_add(1, std::memory_order_relaxed) + 1) << 32;
}

void ModuleMap::publish_ranges() {
  RangeTable* table = published_.load(std::memory_order_relaxed) == &tables_[0] ? &tables_[1] : &tables_[0];
  // A reader may still be searching this table (published two refreshes ago): it sees the new
  // version when it finishes, and searches again.
  version_.fetch_add(1, std::memory_order_acq_rel);
  size_t count = 0;
  for (size_t i = 0; i < module_count_; i++) {
    for (size_t s = 0; s < modules_[i].segment_count && count < kMaxModules * 2; s++) {
      table->ranges[count++] = {modules_[i].segment_start[s], modules_[i].segment_start[s] + modules_[i].segment_length[s]};
    }
  }
  for (size_t i = 0; i < native_range_count_; i++) table->ranges[count++] = native_ranges_[i];
  std::sort(table->ranges, table->ranges + count, [](const Range& a, const Range& b) { return a.start < b.start; });
  table->count = count;
  published_.store(table, std::memory_order_release);
  // Again once published: an answer taken from the old table between the first bump and here is
  // cached under a version that is now gone (tracker.cpp's verdict cache).
  version_.fetch_add(1, std::memory_order_acq_rel);
}

bool ModuleMap::add_native_range(uint64_t start, uint64_t end) {
  // Every isolate finds the copies of node's text that exist when it starts, its own and older ones.
  for (size_t i = 0; i < native_range_count_; i++) {
    if (native_ranges_[i].start == start && native_ranges_[i].end == end) return false;
  }
  if (native_range_count_ >= kMaxNativeRanges) return false;
  native_ranges_[native_range_count_++] = {start, end};
  publish_ranges();
  return true;
}

bool ModuleMap::segment_of(uint64_t address, uint64_t* start, uint64_t* end) const {
  while (true) {
    uint64_t version = version_.load(std::memory_order_acquire);
    const RangeTable* table = published_.load(std::memory_order_acquire);
    bool found = false;
    size_t count = table ? std::min(table->count, kTableCapacity) : 0;
    for (size_t i = 0; i < count && !found; i++) {
      if (table->ranges[i].start <= address && address < table->ranges[i].end) {
        *start = table->ranges[i].start;
        *end = table->ranges[i].end;
        found = true;
      }
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (version_.load(std::memory_order_relaxed) == version) return found;
  }
}

}  // namespace memview
