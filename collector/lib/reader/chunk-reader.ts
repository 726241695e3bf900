// Splits a capture stream into its header and verified, decompressed chunks (docs/capture-format.md,
// "Layout"). One chunk is held at a time. A chunk cut short by the end of the file is the normal
// end of a killed process's capture, not an error: the generator just stops before it, and the
// caller calls the capture truncated because no trailer came.
import { ByteStream } from './byte-stream.js';
import { CaptureError, PayloadError } from './capture-error.js';
import { fnv1a32 } from './fnv1a.js';
import {
  CAPTURE_MAGIC, CHUNK_CODEC_NAMES, CHUNK_HEADER_SIZE_BYTES, CHUNK_MAGIC, ChunkCodec, ChunkKind, HEADER_SIZE_BYTES,
  largestStoredSize, MAX_CHUNK_RAW_SIZE_BYTES, CURRENT_FORMAT_VERSION, FIRST_READABLE_FORMAT_VERSION,
} from './format.js';
import { decompressLz4Block } from './lz4-block.js';

export interface CaptureHeader {
  formatVersion: number;
  flags: number;
}

export interface Chunk {
  /** 0 for the first chunk after the file header. */
  index: number;
  /** File offset of the chunk's 24-byte header. */
  fileOffset: number;
  kind: number;
  firstEventIndex: number;
  /** The decompressed payload. */
  payload: Uint8Array;
  /** File offset of payload[0] when the payload is stored as is; undefined for LZ4 chunks. */
  payloadFileOffset: number | undefined;
  /** A trailer whose checksum does not match its bytes (readChunks' tolerateDamagedTrailer). */
  damaged?: boolean;
}

export interface ChunkReading {
  /**
   * Yield a trailer whose checksum does not match as `damaged` instead of failing: every data
   * chunk before it was read whole, and a reader can still give their figures (as for a capture
   * without a trailer). A trailer that checks out but disagrees with the chunks stays an error.
   */
  tolerateDamagedTrailer?: boolean;
}

const asciiDecoder = new TextDecoder('latin1');

export async function readCaptureHeader(stream: ByteStream): Promise<CaptureHeader> {
  const header = await stream.read(HEADER_SIZE_BYTES);
  if (header.length === 0) throw new CaptureError('empty file, not a memview capture', 0, -1);
  const magic = asciiDecoder.decode(header.subarray(0, Math.min(8, header.length)));
  if (magic !== CAPTURE_MAGIC.slice(0, magic.length)) {
    throw new CaptureError('not a memview capture (the file does not start with "MEMVIEW")', 0, -1);
  }
  if (header.length < HEADER_SIZE_BYTES) {
    throw new CaptureError(
      `capture header is cut short (${header.length} of ${HEADER_SIZE_BYTES} bytes)`, 0, -1);
  }
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const formatVersion = view.getUint16(8, true);
  if (formatVersion < FIRST_READABLE_FORMAT_VERSION || formatVersion > CURRENT_FORMAT_VERSION) {
    throw new CaptureError(
      `capture format version ${formatVersion}, this reader understands versions ${FIRST_READABLE_FORMAT_VERSION} to ${CURRENT_FORMAT_VERSION}`,
      8, -1);
  }
  return { formatVersion, flags: view.getUint16(10, true) };
}

/** Yields every complete chunk after the header up to the trailer; stops early at a cut-off chunk. */
export async function* readChunks(stream: ByteStream, reading: ChunkReading = {}): AsyncGenerator<Chunk> {
  for (let index = 0; ; index++) {
    const fileOffset = stream.position;
    const header = await stream.read(CHUNK_HEADER_SIZE_BYTES);
    if (header.length < CHUNK_HEADER_SIZE_BYTES) return;
    const fail = (problem: string, offset = fileOffset): never => {
      throw new CaptureError(`chunk ${index} at offset ${fileOffset}: ${problem}`, offset, index);
    };

    const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
    const magic = asciiDecoder.decode(header.subarray(0, 4));
    if (magic !== CHUNK_MAGIC) fail(`bad chunk magic ${JSON.stringify(magic)} (expected "MVCK")`);
    const kind = header[4];
    const codec = header[5];
    const storedSize = view.getUint32(8, true);
    const rawSize = view.getUint32(12, true);
    const checksum = view.getUint32(16, true);
    const firstEventIndex = view.getUint32(20, true);
    if (kind !== ChunkKind.Data && kind !== ChunkKind.Trailer) fail(`unknown chunk kind ${kind}`);
    if (codec !== ChunkCodec.Stored && codec !== ChunkCodec.Lz4Block && codec !== ChunkCodec.Deflate) fail(`unknown codec ${codec}`);
    if (kind === ChunkKind.Trailer && codec !== ChunkCodec.Stored) fail('trailer chunk is compressed');
    if (rawSize > MAX_CHUNK_RAW_SIZE_BYTES) {
      fail(`raw size ${rawSize} bytes is over the ${MAX_CHUNK_RAW_SIZE_BYTES}-byte limit`);
    }
    if (codec === ChunkCodec.Stored && storedSize !== rawSize) {
      fail(`stored chunk with stored size ${storedSize} and raw size ${rawSize}`);
    }
    if (codec !== ChunkCodec.Stored && storedSize > largestStoredSize(codec, rawSize)) {
      fail(`${CHUNK_CODEC_NAMES[codec]} stored size ${storedSize} bytes is impossible for raw size ${rawSize}`);
    }

    const stored = await stream.read(storedSize);
    if (stored.length < storedSize) return;
    const computed = fnv1a32(stored);
    if (computed !== checksum && kind === ChunkKind.Trailer && reading.tolerateDamagedTrailer) {
      yield { index, fileOffset, kind, firstEventIndex, payload: stored, payloadFileOffset: undefined, damaged: true };
      return;
    }
    if (computed !== checksum) {
      fail(`checksum mismatch (header ${hex32(checksum)}, payload ${hex32(computed)})`);
    }

    const payloadStart = fileOffset + CHUNK_HEADER_SIZE_BYTES;
    let payload = stored;
    if (codec === ChunkCodec.Lz4Block) {
      try {
        payload = decompressLz4Block(stored, rawSize);
      } catch (error) {
        if (!(error instanceof PayloadError)) throw error;
        fail(`${error.message} (payload byte ${error.position})`, payloadStart + error.position);
      }
    } else if (codec === ChunkCodec.Deflate) {
      const inflated = await inflateRaw(stored, rawSize).catch((error: Error) => fail(`malformed DEFLATE stream (${error.message})`, payloadStart));
      if (inflated.length !== rawSize) {
        fail(`DEFLATE stream holds ${inflated.length > rawSize ? 'more than ' : ''}${inflated.length} bytes, the header says ${rawSize}`, payloadStart);
      }
      payload = inflated;
    }
    yield {
      index,
      fileOffset,
      kind,
      firstEventIndex,
      payload,
      payloadFileOffset: codec === ChunkCodec.Stored ? payloadStart : undefined,
    };
    // The trailer is the last thing in the file; the caller checks that nothing follows it.
    if (kind === ChunkKind.Trailer) return;
  }
}

/**
 * Inflates a raw DEFLATE stream with the platform's own decompressor (Node and browsers have
 * one): this reader is the reference the wasm engine's inflate is checked against. Stops once
 * the output passes `rawSize` bytes (then returns rawSize + 1 of them), so that a corrupt stream
 * cannot inflate into unbounded memory.
 */
async function inflateRaw(stored: Uint8Array, rawSize: number): Promise<Uint8Array> {
  const reader = new Blob([stored as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('deflate-raw')).getReader();
  const output = new Uint8Array(rawSize + 1);
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return output.subarray(0, length);
    const room = output.length - length;
    output.set(value.length > room ? value.subarray(0, room) : value, length);
    length += Math.min(value.length, room);
    if (length > rawSize) {
      await reader.cancel();
      return output;
    }
  }
}

/** Runs `decode` and turns a PayloadError it throws into a CaptureError with the file position. */
export function withChunkPosition(chunk: Chunk, decode: () => void): void {
  try {
    decode();
  } catch (error) {
    if (!(error instanceof PayloadError)) throw error;
    const where = chunk.payloadFileOffset !== undefined
      ? { offset: chunk.payloadFileOffset + error.position, detail: `file offset ${chunk.payloadFileOffset + error.position}` }
      : { offset: chunk.fileOffset, detail: `byte ${error.position} of the decompressed payload` };
    throw new CaptureError(
      `chunk ${chunk.index} at offset ${chunk.fileOffset}: ${error.message} (${where.detail})`,
      where.offset, chunk.index);
  }
}

function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}
