#include "dwarf_lines.h"

#include <algorithm>
#include <cstring>

namespace memview {
namespace {

// Bounds-checked reading of one unit; any read past `end` sets `bad` and returns zeros, so a
// malformed unit ends its own parsing without touching memory outside the section.
struct Reader {
  const uint8_t* at;
  const uint8_t* end;
  bool bad = false;

  bool has(size_t bytes) {
    if (bad || static_cast<size_t>(end - at) < bytes) {
      bad = true;
      return false;
    }
    return true;
  }
  uint64_t fixed(size_t bytes) {
    if (!has(bytes)) return 0;
    uint64_t value = 0;
    memcpy(&value, at, bytes);  // little-endian hosts and files only
    at += bytes;
    return value;
  }
  uint8_t u8() { return static_cast<uint8_t>(fixed(1)); }
  uint64_t uleb() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!has(1)) return 0;
      uint8_t byte = *at++;
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return value;
    }
    bad = true;
    return 0;
  }
  int64_t sleb() {
    int64_t value = 0;
    int shift = 0;
    while (shift < 64) {
      if (!has(1)) return 0;
      uint8_t byte = *at++;
      value |= static_cast<int64_t>(byte & 0x7f) << shift;
      shift += 7;
      if (!(byte & 0x80)) {
        if (shift < 64 && (byte & 0x40)) value |= -(static_cast<int64_t>(1) << shift);
        return value;
      }
    }
    bad = true;
    return 0;
  }
  const char* cstring() {
    const void* nul = bad ? nullptr : memchr(at, 0, static_cast<size_t>(end - at));
    if (!nul) {
      bad = true;
      return "";
    }
    const char* text = reinterpret_cast<const char*>(at);
    at = static_cast<const uint8_t*>(nul) + 1;
    return text;
  }
  void skip(uint64_t bytes) {
    if (has(bytes)) at += bytes;
  }
};

const char* string_at(const uint8_t* section, size_t size, uint64_t offset) {
  if (!section || offset >= size || !memchr(section + offset, 0, size - offset)) return nullptr;
  return reinterpret_cast<const char*>(section + offset);
}

// DWARF 5 entry formats (directory and file tables).
constexpr uint64_t kContentPath = 1, kContentDirectoryIndex = 2;
constexpr uint64_t kFormBlock = 0x09, kFormData1 = 0x0b, kFormData2 = 0x05, kFormData4 = 0x06, kFormData8 = 0x07,
                   kFormData16 = 0x1e, kFormString = 0x08, kFormStrp = 0x0e, kFormLineStrp = 0x1f, kFormUdata = 0x0f;

// One field of a DWARF 5 table entry: a number, or a string (returned through *text). False for a
// form this reader does not know (the unit is then skipped).
bool read_form(Reader& in, uint64_t form, const DwarfSections& sections, uint64_t* number, const char** text) {
  *number = 0;
  *text = nullptr;
  switch (form) {
    case kFormString: *text = in.cstring(); return true;
    case kFormLineStrp: *text = string_at(sections.line_str, sections.line_str_size, in.fixed(4)); return true;
    case kFormStrp: *text = string_at(sections.str, sections.str_size, in.fixed(4)); return true;
    case kFormUdata: *number = in.uleb(); return true;
    case kFormData1: *number = in.fixed(1); return true;
    case kFormData2: *number = in.fixed(2); return true;
    case kFormData4: *number = in.fixed(4); return true;
    case kFormData8: *number = in.fixed(8); return true;
    case kFormData16: in.skip(16); return true;
    case kFormBlock: in.skip(in.uleb()); return true;
    default: return false;
  }
}

struct FileEntry {
  const char* name;
  uint64_t directory;
};

struct UnitTables {
  int version = 0;
  std::vector<const char*> directories;  // DWARF 5: index 0 is the compilation directory
  std::vector<FileEntry> files;          // DWARF 5: index 0 is the primary file; 2-4: index 1 is the first
};

bool read_entry_table(Reader& in, const DwarfSections& sections, bool files, UnitTables& tables) {
  uint8_t format_count = in.u8();
  std::vector<std::pair<uint64_t, uint64_t>> formats;
  for (int i = 0; i < format_count; i++) {
    uint64_t content = in.uleb();
    formats.emplace_back(content, in.uleb());
  }
  uint64_t count = in.uleb();
  for (uint64_t entry = 0; entry < count && !in.bad; entry++) {
    const char* path = nullptr;
    uint64_t directory = 0;
    for (const auto& [content, form] : formats) {
      uint64_t number;
      const char* text;
      if (!read_form(in, form, sections, &number, &text)) return false;
      if (content == kContentPath) path = text;
      else if (content == kContentDirectoryIndex) directory = number;
    }
    if (files) tables.files.push_back({path ? path : "", directory});
    else tables.directories.push_back(path ? path : "");
  }
  return !in.bad;
}

std::string file_path(const UnitTables& tables, uint64_t file) {
  // DWARF 2-4 number files from 1; DWARF 5 from 0.
  uint64_t index = tables.version >= 5 ? file : file - 1;
  if (index >= tables.files.size()) return "";
  const FileEntry& entry = tables.files[index];
  if (entry.name[0] == '/' || entry.name[0] == 0) return entry.name;
  std::string path;
  if (tables.version >= 5) {
    const char* directory = entry.directory < tables.directories.size() ? tables.directories[entry.directory] : "";
    if (directory[0] != '/' && entry.directory != 0 && !tables.directories.empty() && tables.directories[0][0]) {
      path = std::string(tables.directories[0]) + "/";
    }
    path += directory;
  } else if (entry.directory > 0 && entry.directory <= tables.directories.size()) {
    path = tables.directories[entry.directory - 1];
  }
  if (!path.empty() && path.back() != '/') path += '/';
  return path + entry.name;
}

// Runs one unit's line program; every row range [row, next row) assigns its file:line to the
// addresses inside it that have none yet. *span gets where the rows lie.
void run_unit(Reader in, const DwarfSections& sections, const std::vector<uint64_t>& addresses,
              std::vector<SourceLine>& lines, LineUnitSpans::Span* span) {
  UnitTables tables;
  tables.version = static_cast<int>(in.fixed(2));
  if (tables.version < 2 || tables.version > 5) return;
  if (tables.version >= 5) {
    if (in.u8() != 8) return;  // address size
    in.u8();                   // segment selector size
  }
  uint64_t header_length = in.fixed(4);
  if (!in.has(header_length)) return;
  const uint8_t* program = in.at + header_length;
  uint8_t minimum_instruction_length = in.u8();
  if (tables.version >= 4) in.u8();  // maximum operations per instruction (VLIW only)
  in.u8();  // default is_stmt: every row counts, as for addr2line
  int8_t line_base = static_cast<int8_t>(in.u8());
  uint8_t line_range = in.u8();
  uint8_t opcode_base = in.u8();
  if (in.bad || line_range == 0 || opcode_base == 0) return;
  std::vector<uint8_t> standard_lengths(opcode_base, 0);
  for (int i = 1; i < opcode_base; i++) standard_lengths[i] = in.u8();
  if (tables.version >= 5) {
    if (!read_entry_table(in, sections, false, tables) || !read_entry_table(in, sections, true, tables)) return;
  } else {
    for (const char* directory = in.cstring(); directory[0] && !in.bad; directory = in.cstring()) tables.directories.push_back(directory);
    for (const char* name = in.cstring(); name[0] && !in.bad; name = in.cstring()) {
      uint64_t directory = in.uleb();
      in.uleb();  // modification time
      in.uleb();  // length
      tables.files.push_back({name, directory});
    }
  }
  if (in.bad) return;
  in.at = program;

  uint64_t address = 0, file = 1, line = 1;
  bool have_row = false;
  uint64_t row_address = 0, row_file = 0, row_line = 0;
  // The first address at or past the last row's: rows rise within a sequence, so it only moves on
  // (a binary search per row was a third of the time), and is searched again when one does not.
  size_t next = 0;
  uint64_t next_for = 0;
  const size_t count = addresses.size();
  // A row ends the previous row's range.
  auto emit = [&](bool end_of_sequence) {
    if (have_row && address > row_address) {
      if (row_address < next_for) {
        next = static_cast<size_t>(std::lower_bound(addresses.begin(), addresses.end(), row_address) - addresses.begin());
      } else {
        while (next < count && addresses[next] < row_address) next++;
      }
      next_for = row_address;
      for (size_t i = next; i < count && addresses[i] < address; i++) {
        SourceLine& slot = lines[i];
        if (slot.line == 0 && row_line > 0) {
          slot.file = file_path(tables, row_file);
          slot.line = static_cast<uint32_t>(row_line);
        }
      }
      if (row_address < span->low) span->low = row_address;
      if (address > span->high) span->high = address;
    }
    have_row = !end_of_sequence;
    row_address = address;
    row_file = file;
    row_line = line;
  };
  while (in.at < in.end && !in.bad) {
    uint8_t opcode = in.u8();
    if (opcode >= opcode_base) {
      uint8_t adjusted = static_cast<uint8_t>(opcode - opcode_base);
      address += static_cast<uint64_t>(adjusted / line_range) * minimum_instruction_length;
      line += static_cast<int64_t>(line_base) + adjusted % line_range;
      emit(false);
      continue;
    }
    switch (opcode) {
      case 0: {  // extended
        uint64_t length = in.uleb();
        if (length == 0 || !in.has(length)) return;
        const uint8_t* next = in.at + length;
        uint8_t sub = in.u8();
        if (sub == 1) {  // end_sequence
          emit(true);
          address = 0;
          file = 1;
          line = 1;
        } else if (sub == 2) {  // set_address
          address = in.fixed(8);
        }
        in.at = next;  // define_file, set_discriminator and vendor extensions are skipped
        break;
      }
      case 1: emit(false); break;  // copy
      case 2: address += in.uleb() * minimum_instruction_length; break;
      case 3: line += in.sleb(); break;
      case 4: file = in.uleb(); break;
      case 5: in.uleb(); break;  // column
      case 6: case 7: break;  // negate_stmt, basic_block
      case 8: address += static_cast<uint64_t>((255 - opcode_base) / line_range) * minimum_instruction_length; break;
      case 9: address += in.fixed(2); break;
      case 10: case 11: break;  // prologue_end, epilogue_begin
      case 12: in.uleb(); break;  // isa
      default:
        for (int i = 0; i < standard_lengths[opcode]; i++) in.uleb();
        break;
    }
  }
}

}  // namespace

std::vector<SourceLine> source_lines_of(const DwarfSections& sections, const std::vector<uint64_t>& addresses,
                                        LineUnitSpans* spans) {
  std::vector<SourceLine> lines(addresses.size());
  if (!sections.line || addresses.empty()) return lines;
  const bool skipping = spans != nullptr && spans->known;
  std::vector<LineUnitSpans::Span> learned;
  size_t offset = 0;
  for (size_t index = 0; offset + 4 <= sections.line_size; index++) {
    uint32_t unit_length;
    memcpy(&unit_length, sections.line + offset, 4);
    // 64-bit DWARF (0xffffffff) and reserved lengths end the walk: the unit size is not known.
    if (unit_length >= 0xfffffff0u || unit_length > sections.line_size - offset - 4) break;
    const uint8_t* unit = sections.line + offset + 4;
    offset += 4 + static_cast<size_t>(unit_length);
    LineUnitSpans::Span span;
    if (skipping) {
      if (index >= spans->units.size()) break;  // not this section's spans after all
      span = spans->units[index];
      const auto first = std::lower_bound(addresses.begin(), addresses.end(), span.low);
      if (first == addresses.end() || *first >= span.high) continue;
    }
    run_unit(Reader{unit, unit + unit_length}, sections, addresses, lines, &span);
    if (!skipping) learned.push_back(span);
  }
  if (spans != nullptr && !skipping) {
    spans->units = std::move(learned);
    spans->known = true;
  }
  return lines;
}

}  // namespace memview
