// Edits a capture file in place for the error and fuzz tests: find its chunks, damage a
// payload, and re-seal the checksum so the damage reaches the decoder instead of being caught as
// a checksum mismatch.
import { fnv1a32 } from '../support/synthetic-capture.js';

export interface ChunkLocation {
  headerOffset: number;
  payloadOffset: number;
  storedSize: number;
  kind: number;
  codec: number;
}

export function chunksOf(capture: Uint8Array): ChunkLocation[] {
  const view = new DataView(capture.buffer, capture.byteOffset, capture.byteLength);
  const chunks: ChunkLocation[] = [];
  for (let at = 16; at + 24 <= capture.length;) {
    const storedSize = view.getUint32(at + 8, true);
    chunks.push({ headerOffset: at, payloadOffset: at + 24, storedSize, kind: capture[at + 4], codec: capture[at + 5] });
    at += 24 + storedSize;
  }
  return chunks;
}

export function resealChecksum(capture: Uint8Array, chunk: ChunkLocation): void {
  const view = new DataView(capture.buffer, capture.byteOffset, capture.byteLength);
  const payload = capture.subarray(chunk.payloadOffset, chunk.payloadOffset + chunk.storedSize);
  view.setUint32(chunk.headerOffset + 16, fnv1a32(payload), true);
}
