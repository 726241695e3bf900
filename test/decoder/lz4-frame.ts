// Splits an LZ4 *frame* (what the lz4 CLI writes) into its blocks, so the engine's block decoder
// can be checked against the reference implementation's output.

export interface Lz4FrameBlock {
  /** The block's bytes as stored in the frame. */
  data: Uint8Array;
  /** True when the frame stored the block uncompressed (high bit of its size). */
  uncompressed: boolean;
}

export function lz4FrameBlocks(frame: Uint8Array): { blocks: Lz4FrameBlock[]; blockMaxBytes: number } {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (view.getUint32(0, true) !== 0x184d2204) throw new Error('not an LZ4 frame');
  const flags = frame[4];
  if ((flags & 0x20) === 0) throw new Error('linked blocks: use -BI');
  const blockMaxBytes = [0, 0, 0, 0, 64 << 10, 256 << 10, 1 << 20, 4 << 20][(frame[5] >> 4) & 7];
  let at = 6 + ((flags & 0x08) ? 8 : 0) + ((flags & 0x01) ? 4 : 0) + 1; // + header checksum
  const blockChecksums = (flags & 0x10) !== 0;
  const blocks: Lz4FrameBlock[] = [];
  for (;;) {
    const size = view.getUint32(at, true);
    at += 4;
    if (size === 0) break;
    const length = size & 0x7fffffff;
    blocks.push({ data: frame.subarray(at, at + length), uncompressed: (size & 0x80000000) !== 0 });
    at += length + (blockChecksums ? 4 : 0);
  }
  return { blocks, blockMaxBytes };
}
