// The match copy both decompressors share (LZ4 and DEFLATE): `length` bytes from `distance` back
// in the output, to `output`. The source may overlap the destination; each load then reads bytes
// already final when the distance is at least the width copied. Wider copies may store up to
// 15 bytes past the match, so they run only when the destination has that much room before
// `outputEnd` (those bytes are rewritten by what follows).

/** Copies the match and returns the end of the output it wrote. */
@inline export function copyMatch(output: usize, distance: usize, length: usize, outputEnd: usize): usize {
  let from = output - distance;
  const toEnd = output + length;
  let to = output;
  if (distance >= 16 && outputEnd - toEnd >= 16) {
    do {
      v128.store(to, v128.load(from));
      from += 16;
      to += 16;
    } while (to < toEnd);
  } else if (distance >= 8 && outputEnd - toEnd >= 8) {
    do {
      store<u64>(to, load<u64>(from));
      from += 8;
      to += 8;
    } while (to < toEnd);
  } else {
    // Short distances repeat a pattern: byte by byte, so each byte sees the ones just written.
    while (to < toEnd) {
      store<u8>(to, load<u8>(from));
      from++;
      to++;
    }
  }
  return toEnd;
}
