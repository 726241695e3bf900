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

/** From this file size on, the hosts unpack chunks on a second worker unless told otherwise. */
export const PARALLEL_UNPACK_MIN_BYTES = 32 << 20;

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

/** A reply from an unpacking worker. */
export interface UnpackReply {
  id: number;
  status?: number;
  raw?: Uint8Array;
  failure?: string;
}

/**
 * The session's side of an unpacking worker, whatever the host: numbers the requests, sends a copy
 * of the stored bytes (transferred), and settles each request when its reply comes back.
 */
export class RemoteUnpacker implements ChunkUnpacker {
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (result: UnpackResult) => void; reject: (error: Error) => void }>();

  constructor(
    private readonly send: (message: UnpackRequest & { id: number }, transfer: ArrayBuffer[]) => void,
    private readonly stop: () => Promise<void>,
  ) {}

  unpack(request: UnpackRequest): Promise<UnpackResult> {
    const id = this.nextId++;
    // A copy (not Buffer#slice, which is a view): the stored bytes share their ArrayBuffer with the
    // rest of the file piece, and this one is transferred.
    const stored = new Uint8Array(request.stored);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.send({ id, codec: request.codec, stored, rawSize: request.rawSize, checksum: request.checksum }, [stored.buffer as ArrayBuffer]);
    });
  }

  /** Settles the request a reply answers. */
  receive(reply: UnpackReply): void {
    const waiter = this.waiting.get(reply.id);
    if (waiter === undefined) return;
    this.waiting.delete(reply.id);
    if (reply.failure !== undefined) waiter.reject(new Error(`unpacking worker: ${reply.failure}`));
    else waiter.resolve({ status: reply.status!, raw: reply.raw! });
  }

  /** The worker died: every request still out fails. */
  fail(error: Error): void {
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
  }

  close(): Promise<void> {
    return this.stop();
  }
}

/** The worker's side: unpacks one request and says what to post back (and transfer). */
export function answerUnpackRequest(engine: DecoderExports, request: UnpackRequest & { id: number }): { reply: UnpackReply; transfer: ArrayBuffer[] } {
  try {
    const result = unpackWith(engine, request);
    return { reply: { id: request.id, status: result.status, raw: result.raw }, transfer: result.raw.length > 0 ? [result.raw.buffer as ArrayBuffer] : [] };
  } catch (error) {
    return { reply: { id: request.id, failure: (error as Error).message }, transfer: [] };
  }
}
