// Encoding primitives of the capture format (varint, zigzag) writing into a caller-owned byte
// range. The caller guarantees room (the tracker reserves space before each event), so the hot
// path does no bounds checks here.
#pragma once
#include <cstdint>
#include <cstring>

namespace memview {

struct ByteCursor {
  uint8_t* position;

  inline void byte(uint8_t value) { *position++ = value; }

  inline void varint(uint64_t value) {
    while (value >= 0x80) {
      *position++ = static_cast<uint8_t>(value | 0x80);
      value >>= 7;
    }
    *position++ = static_cast<uint8_t>(value);
  }

  inline void zigzag(int64_t value) {
    varint((static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63));
  }

  inline void bytes(const void* data, size_t length) {
    memcpy(position, data, length);
    position += length;
  }
};

}  // namespace memview
