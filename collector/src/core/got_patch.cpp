#include "got_patch.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

namespace memview {
namespace {

struct PatchRequest {
  const HookEntry* hooks;
  int hook_count;
  uint64_t own_base;
};

void write_slot(uint64_t slot_address, void* value) {
  uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  uint64_t start = slot_address & ~(page - 1);
  void** slot = reinterpret_cast<void**>(slot_address);
  if (*slot == value) return;
  // RELRO makes many GOTs read-only after relocation; open the page for the write.
  syscall(SYS_mprotect, start, page, PROT_READ | PROT_WRITE);
  *slot = value;
}

void patch_relocations(const ElfW(Rela)* relocations, size_t bytes, uint64_t base, const ElfW(Sym)* symbols,
                       const char* strings, const PatchRequest& request) {
  size_t count = bytes / sizeof(ElfW(Rela));
  for (size_t i = 0; i < count; i++) {
    uint32_t type = ELF64_R_TYPE(relocations[i].r_info);
    if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) continue;
    uint32_t symbol_index = ELF64_R_SYM(relocations[i].r_info);
    if (symbol_index == 0) continue;
    const char* name = strings + symbols[symbol_index].st_name;
    for (int h = 0; h < request.hook_count; h++) {
      if (strcmp(name, request.hooks[h].symbol) == 0) {
        write_slot(base + relocations[i].r_offset, request.hooks[h].replacement);
        break;
      }
    }
  }
}

int patch_object(dl_phdr_info* info, size_t, void* data) {
  const PatchRequest& request = *static_cast<PatchRequest*>(data);
  if (info->dlpi_addr == request.own_base) return 0;
  if (info->dlpi_name && strstr(info->dlpi_name, "linux-vdso")) return 0;
  const ElfW(Dyn)* dynamic = nullptr;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    if (info->dlpi_phdr[i].p_type == PT_DYNAMIC) {
      dynamic = reinterpret_cast<const ElfW(Dyn)*>(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    }
  }
  if (!dynamic) return 0;
  const ElfW(Sym)* symbols = nullptr;
  const char* strings = nullptr;
  const ElfW(Rela)* plt_relocations = nullptr;
  size_t plt_bytes = 0;
  const ElfW(Rela)* relocations = nullptr;
  size_t relocation_bytes = 0;
  for (const ElfW(Dyn)* entry = dynamic; entry->d_tag != DT_NULL; entry++) {
    // After relocation the loader has already turned these into absolute addresses.
    switch (entry->d_tag) {
      case DT_SYMTAB: symbols = reinterpret_cast<const ElfW(Sym)*>(entry->d_un.d_ptr); break;
      case DT_STRTAB: strings = reinterpret_cast<const char*>(entry->d_un.d_ptr); break;
      case DT_JMPREL: plt_relocations = reinterpret_cast<const ElfW(Rela)*>(entry->d_un.d_ptr); break;
      case DT_PLTRELSZ: plt_bytes = entry->d_un.d_val; break;
      case DT_RELA: relocations = reinterpret_cast<const ElfW(Rela)*>(entry->d_un.d_ptr); break;
      case DT_RELASZ: relocation_bytes = entry->d_un.d_val; break;
      default: break;
    }
  }
  if (!symbols || !strings) return 0;
  if (plt_relocations) patch_relocations(plt_relocations, plt_bytes, info->dlpi_addr, symbols, strings, request);
  if (relocations) patch_relocations(relocations, relocation_bytes, info->dlpi_addr, symbols, strings, request);
  return 0;
}

}  // namespace

void patch_loaded_objects(const HookEntry* hooks, int hook_count) {
  Dl_info own;
  PatchRequest request{hooks, hook_count, 0};
  if (dladdr(reinterpret_cast<void*>(&patch_loaded_objects), &own)) {
    // dl_phdr_info reports the load bias; for a shared object that is its base address.
    request.own_base = reinterpret_cast<uint64_t>(own.dli_fbase);
  }
  dl_iterate_phdr(patch_object, &request);
}

}  // namespace memview
