// FNV-1a-32 over a chunk's stored payload (docs/capture-format.md, "Checksum").

export function fnv1a32(pointer: usize, length: usize): u32 {
  let hash: u32 = 0x811c9dc5;
  const end = pointer + length;
  // Four bytes per iteration: the multiply chain is serial, but fewer loop branches still help.
  const end4 = pointer + (length & ~(<usize>3));
  while (pointer < end4) {
    const word = load<u32>(pointer);
    hash = (hash ^ (word & 0xff)) * 0x01000193;
    hash = (hash ^ ((word >>> 8) & 0xff)) * 0x01000193;
    hash = (hash ^ ((word >>> 16) & 0xff)) * 0x01000193;
    hash = (hash ^ (word >>> 24)) * 0x01000193;
    pointer += 4;
  }
  while (pointer < end) {
    hash = (hash ^ <u32>load<u8>(pointer)) * 0x01000193;
    pointer++;
  }
  return hash;
}
