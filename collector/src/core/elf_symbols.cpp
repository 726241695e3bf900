#include "elf_symbols.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>

namespace memview {

namespace {
std::atomic<bool> g_leave_mappings{false};
}  // namespace

ElfSymbols::~ElfSymbols() { close(); }

void ElfSymbols::leave_mappings_to_exit() { g_leave_mappings.store(true, std::memory_order_relaxed); }

void ElfSymbols::close() {
  if (file_ && !g_leave_mappings.load(std::memory_order_relaxed)) munmap(const_cast<uint8_t*>(file_), file_size_);
  file_ = nullptr;
  file_size_ = 0;
  symbols_ = nullptr;
  symbol_count_ = 0;
  names_ = nullptr;
  names_size_ = 0;
  dwarf_ = DwarfSections();
  build_id_.clear();
  inflated_.clear();
}

void ElfSymbols::read_build_id(const uint8_t* notes, size_t size) {
  size_t at = 0;
  while (at + sizeof(Elf64_Nhdr) <= size) {
    const Elf64_Nhdr* note = reinterpret_cast<const Elf64_Nhdr*>(notes + at);
    // In 64 bits: a 32-bit size near 2^32, rounded up to 4 in 32 bits, would wrap to 0.
    const uint64_t name_at = at + sizeof(Elf64_Nhdr);
    const uint64_t descriptor_at = name_at + ((uint64_t{note->n_namesz} + 3) & ~uint64_t{3});
    const uint64_t next = descriptor_at + ((uint64_t{note->n_descsz} + 3) & ~uint64_t{3});
    if (descriptor_at > size || note->n_descsz > size - descriptor_at || next > size) return;
    if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 && memcmp(notes + name_at, "GNU", 4) == 0) {
      build_id_.assign(notes + descriptor_at, notes + descriptor_at + note->n_descsz);
      return;
    }
    at = next;
  }
}

namespace {

// Not in every elf.h (glibc 2.36's has only zlib's): the gABI's value.
constexpr uint32_t kCompressZstd = 2;

// zlib's uncompress() and zstd's ZSTD_decompress(), from the system's libz and libzstd when there
// are: the collector links neither, and compressed debug sections are the only place it meets
// their data (zlib in Debian's debug files, zstd in newer toolchains').
using Uncompress = int (*)(uint8_t* destination, unsigned long* destination_length, const uint8_t* source,
                           unsigned long source_length);
using ZstdDecompress = size_t (*)(void* destination, size_t capacity, const void* source, size_t source_length);
using ZstdIsError = unsigned (*)(size_t code);

void* system_function(const char* library_name, const char* name) {
  void* library = dlopen(library_name, RTLD_LAZY | RTLD_LOCAL);
  return library ? dlsym(library, name) : dlsym(RTLD_DEFAULT, name);
}

// Inflates `source` into exactly destination_length bytes; false when it cannot.
bool decompress(uint32_t type, const uint8_t* source, size_t source_length, uint8_t* destination, size_t destination_length) {
  if (type == ELFCOMPRESS_ZLIB) {
    static const Uncompress uncompress = reinterpret_cast<Uncompress>(system_function("libz.so.1", "uncompress"));
    unsigned long length = destination_length;
    return uncompress && uncompress(destination, &length, source, source_length) == 0 && length == destination_length;
  }
  if (type == kCompressZstd) {
    static const ZstdDecompress zstd = reinterpret_cast<ZstdDecompress>(system_function("libzstd.so.1", "ZSTD_decompress"));
    static const ZstdIsError is_error = reinterpret_cast<ZstdIsError>(system_function("libzstd.so.1", "ZSTD_isError"));
    if (!zstd || !is_error) return false;
    size_t length = zstd(destination, destination_length, source, source_length);
    return !is_error(length) && length == destination_length;
  }
  return false;
}

}  // namespace

const uint8_t* ElfSymbols::inflated_section(const uint8_t* data, size_t* size) {
  if (*size < sizeof(Elf64_Chdr)) return nullptr;
  const Elf64_Chdr* header = reinterpret_cast<const Elf64_Chdr*>(data);
  // 1 GiB: far above any real section, and a corrupt header must not ask for more.
  if (header->ch_size == 0 || header->ch_size > (uint64_t{1} << 30)) return nullptr;
  std::vector<uint8_t>& inflated = inflated_.emplace_back(header->ch_size);
  if (!decompress(header->ch_type, data + sizeof(Elf64_Chdr), *size - sizeof(Elf64_Chdr), inflated.data(), inflated.size())) {
    inflated_.pop_back();
    return nullptr;
  }
  *size = inflated.size();
  return inflated.data();
}

namespace {

// [offset, offset + size) lies inside a file of `file_size` bytes, without the sum wrapping (a
// debug file can come from anywhere, --debug-dir from another machine).
inline bool inside_file(uint64_t offset, uint64_t size, uint64_t file_size) {
  return size <= file_size && offset <= file_size - size;
}

}  // namespace

bool ElfSymbols::open(const char* path, bool inflate_compressed) {
  close();
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat info;
  if (fstat(fd, &info) != 0 || info.st_size < static_cast<off_t>(sizeof(Elf64_Ehdr))) {
    ::close(fd);
    return false;
  }
  size_t file_size = static_cast<size_t>(info.st_size);
  void* mapped = mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (mapped == MAP_FAILED) return false;
  file_ = static_cast<const uint8_t*>(mapped);
  file_size_ = file_size;
  const Elf64_Ehdr* header = reinterpret_cast<const Elf64_Ehdr*>(file_);
  bool valid = memcmp(header->e_ident, ELFMAG, SELFMAG) == 0 && header->e_ident[EI_CLASS] == ELFCLASS64 &&
               header->e_shoff != 0 && header->e_shentsize == sizeof(Elf64_Shdr) &&
               inside_file(header->e_shoff, static_cast<uint64_t>(header->e_shnum) * sizeof(Elf64_Shdr), file_size);
  if (!valid) return false;
  const Elf64_Shdr* sections = reinterpret_cast<const Elf64_Shdr*>(file_ + header->e_shoff);
  if (header->e_shstrndx < header->e_shnum) {
    const Elf64_Shdr& section_names = sections[header->e_shstrndx];
    for (int i = 0; i < header->e_shnum && inside_file(section_names.sh_offset, section_names.sh_size, file_size); i++) {
      const Elf64_Shdr& section = sections[i];
      if (section.sh_name >= section_names.sh_size || section.sh_type == SHT_NOBITS ||
          !inside_file(section.sh_offset, section.sh_size, file_size)) {
        continue;
      }
      const char* name = reinterpret_cast<const char*>(file_ + section_names.sh_offset + section.sh_name);
      const uint8_t* data = file_ + section.sh_offset;
      if (section.sh_type == SHT_NOTE) read_build_id(data, section.sh_size);
      const uint8_t** wanted = strcmp(name, ".debug_line") == 0       ? &dwarf_.line
                               : strcmp(name, ".debug_line_str") == 0 ? &dwarf_.line_str
                               : strcmp(name, ".debug_str") == 0      ? &dwarf_.str
                                                                      : nullptr;
      if (!wanted) continue;
      size_t* wanted_size = wanted == &dwarf_.line ? &dwarf_.line_size : wanted == &dwarf_.line_str ? &dwarf_.line_str_size : &dwarf_.str_size;
      size_t size = section.sh_size;
      // Compressed (SHF_COMPRESSED, as in Debian's libc6-dbg files): inflated with the system's
      // zlib where there is one and the caller wants it; never read as they are, which would make
      // up lines.
      if ((section.sh_flags & SHF_COMPRESSED) && !(inflate_compressed && (data = inflated_section(data, &size)))) continue;
      *wanted = data;
      *wanted_size = size;
    }
  }
  const Elf64_Shdr* table = nullptr;
  for (int pass = 0; pass < 2 && !table; pass++) {
    uint32_t wanted = pass == 0 ? SHT_SYMTAB : SHT_DYNSYM;
    for (int i = 0; i < header->e_shnum; i++) {
      if (sections[i].sh_type == wanted && sections[i].sh_size > 0) table = &sections[i];
    }
  }
  if (!table || table->sh_link >= header->e_shnum || !inside_file(table->sh_offset, table->sh_size, file_size)) return false;
  const Elf64_Shdr& strings = sections[table->sh_link];
  if (!inside_file(strings.sh_offset, strings.sh_size, file_size)) return false;
  symbols_ = file_ + table->sh_offset;
  symbol_count_ = table->sh_size / sizeof(Elf64_Sym);
  names_ = reinterpret_cast<const char*>(file_ + strings.sh_offset);
  names_size_ = strings.sh_size;
  return true;
}

std::vector<const char*> ElfSymbols::names_of(const std::vector<uint64_t>& addresses) const {
  std::vector<const char*> names(addresses.size(), nullptr);
  if (addresses.empty()) return names;
  // A bit per 4 KiB page of the span the addresses cover, set where one of them lies: nearly every
  // symbol of a large object lies in no such page and is passed over with a bit test or two. With a
  // binary search of the addresses for every symbol, naming 606 pcs among node's 109k symbols took
  // 2.2-3.7 ms at the end of every run; with the bits first, 1.3-1.4 ms.
  const uint64_t first_page = addresses.front() >> 12;
  const uint64_t last_page = addresses.back() >> 12;
  std::vector<uint64_t> wanted_pages((last_page - first_page) / 64 + 1, 0);
  for (uint64_t address : addresses) {
    uint64_t page = (address >> 12) - first_page;
    wanted_pages[page >> 6] |= 1ull << (page & 63);
  }
  auto holds_wanted_page = [&](uint64_t start, uint64_t end) {  // [start, end)
    uint64_t from = start >> 12 < first_page ? 0 : (start >> 12) - first_page;
    uint64_t to = ((end - 1) >> 12) > last_page ? last_page - first_page : ((end - 1) >> 12) - first_page;
    for (uint64_t page = from; page <= to; page++) {
      if (wanted_pages[page >> 6] & (1ull << (page & 63))) return true;
    }
    return false;
  };
  const Elf64_Sym* entries = static_cast<const Elf64_Sym*>(symbols_);
  for (size_t i = 0; i < symbol_count_; i++) {
    const Elf64_Sym& entry = entries[i];
    if (ELF64_ST_TYPE(entry.st_info) != STT_FUNC || entry.st_value == 0 || entry.st_size == 0) continue;
    const uint64_t end = entry.st_value + entry.st_size;
    if (end <= addresses.front() || entry.st_value > addresses.back() || !holds_wanted_page(entry.st_value, end)) continue;
    auto inside = std::lower_bound(addresses.begin(), addresses.end(), entry.st_value);
    if (inside == addresses.end() || *inside >= entry.st_value + entry.st_size) continue;
    // Only a symbol that names something has its name checked: touching every name would read all
    // of node's 7 MB string table.
    if (entry.st_name >= names_size_ || memchr(names_ + entry.st_name, 0, names_size_ - entry.st_name) == nullptr) continue;
    for (; inside != addresses.end() && *inside < entry.st_value + entry.st_size; ++inside) {
      const char*& name = names[static_cast<size_t>(inside - addresses.begin())];
      if (!name) name = names_ + entry.st_name;
    }
  }
  return names;
}

}  // namespace memview
