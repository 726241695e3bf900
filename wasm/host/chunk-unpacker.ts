// Checking and decompressing chunks off the decoding thread. Chunks are independent, so while the
// engine aggregates chunk N (which must happen in order), another worker can verify the checksum of
// chunk N+1 and decompress it; the engine then only decodes. The session keeps a few chunks in
// flight and takes the results in file order, so errors are still reported for the first bad chunk.
import { ChunkCodec } from '../../collector/lib/reader/format.js';
import type { DecoderExports } from './decoder-instance.js';

export interface UnpackRequest {
  codec: number;
  stored: Uint8Array;
  rawSize: number;
  checksum: number;
}

export interface UnpackResult {
  /** 0, or the engine's error code (checksum, malformed LZ4, size mismatch). */
  status: number;
  /** The decompressed payload when status is 0. */
  raw: Uint8Array;
}

export interface ChunkUnpacker {
  unpack(request: UnpackRequest): Promise<UnpackResult>;
  close(): Promise<void>;
}

const EMPTY = new Uint8Array(0);

/** Unpacks one chunk with an engine instance of its own (not the one that aggregates). */
export function unpackWith(engine: DecoderExports, request: UnpackRequest): UnpackResult {
  const { codec, stored, rawSize, checksum } = request;
  const input = engine.inputBuffer(stored.length) >>> 0;
  new Uint8Array(engine.memory.buffer, input, stored.length).set(stored);
  const status = engine.unpackInput(codec, stored.length, rawSize, checksum);
  if (status !== 0) return { status, raw: EMPTY };
  const from = codec === ChunkCodec.Stored ? input : engine.rawPointer() >>> 0;
  return { status, raw: new Uint8Array(engine.memory.buffer, from, rawSize).slice() };
}

/** The same work on the calling thread: for tests of the pipeline, and where workers are missing. */
export class InProcessUnpacker implements ChunkUnpacker {
  constructor(private readonly engine: DecoderExports) {}

  async unpack(request: UnpackRequest): Promise<UnpackResult> {
    return unpackWith(this.engine, request);
  }

  async close(): Promise<void> {}
}
