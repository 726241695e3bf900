// Drives one decode: frames the capture stream into chunks (header, chunk headers and the trailer
// are checked here, with the reference reader's own header reader and trailer parser), hands each
// chunk's stored payload to the wasm engine, which checks, decompresses and aggregates it a few MB
// per call, and drains the engine's outbox of dictionary records into the DictionarySink.
// Memory: one chunk of the file at a time plus what the engine keeps (the live set).
import type { CaptureModel } from '../../viewer/model/types.js';
import type { RangeViews } from './range-views.js';
import { ByteStream } from '../../collector/lib/reader/byte-stream.js';
import { CaptureError, PayloadError } from '../../collector/lib/reader/capture-error.js';
import { readCaptureHeader } from '../../collector/lib/reader/chunk-reader.js';
import {
  CHUNK_CODEC_NAMES, CHUNK_HEADER_SIZE_BYTES, CHUNK_MAGIC, ChunkCodec, ChunkKind, largestStoredSize, MAX_CHUNK_RAW_SIZE_BYTES,
} from '../../collector/lib/reader/format.js';
import { fnv1a32 } from '../../collector/lib/reader/fnv1a.js';
import { HeapBlockNames } from '../../collector/lib/reader/heap-block-names.js';
import { decodeRecords } from '../../collector/lib/reader/record-decoder.js';
import { checkTrailerIndex, parseTrailer } from '../../collector/lib/reader/trailer.js';
import { instantiateDecoder, type DecoderExports } from './decoder-instance.js';
import { DictionarySink } from './dictionary-sink.js';
import { engineErrorText, ERROR_CHECKSUM, recordName } from './engine-errors.js';
import { assembleModel } from './model-assembly.js';
import { RangeIndex } from './range-index.js';
import type { ChunkUnpacker, UnpackResult } from './chunk-unpacker.js';

export interface DecodeOptions {
  /** A block is temporary when freed before its thread makes this many more allocations (default 1). */
  temporaryThreshold?: number;
  onProgress?: (doneBytes: number, totalBytes: number) => void;
  /** Checks and decompresses chunks elsewhere (another worker) while this session aggregates. */
  unpacker?: ChunkUnpacker;
  /** Node host: use a second worker for that (default: for files of 32 MB and more). */
  parallelUnpack?: boolean;
}

/**
 * Raw payload bytes the engine decodes per call. V8 runs a long wasm call in the tier it started
 * in, so short calls let the hot loop move up to the optimising tier early.
 */
const STEP_BUDGET_BYTES = 2 << 20;

const latin1 = new TextDecoder('latin1');
/** The engine keeps at most 256 range buckets (wasm/assembly/range-buckets.ts). */
const MAX_RANGE_BUCKET = 255;

/** Chunks framed ahead of the one being decoded, when an unpacker works on them meanwhile. */
const UNPACK_AHEAD_CHUNKS = 4;

interface FramedChunk {
  index: number;
  fileOffset: number;
  endPosition: number;
  kind: number;
  codec: number;
  storedSize: number;
  rawSize: number;
  checksum: number;
  stored: Uint8Array;
  unpacked?: Promise<UnpackResult>;
}

/**
 * Reads and checks the next chunk's header and payload. Undefined when the file ends, cleanly or
 * inside the chunk (a truncated capture); throws CaptureError for a header that cannot be right.
 */
async function frameChunk(stream: ByteStream, index: number): Promise<FramedChunk | undefined> {
  const fileOffset = stream.position;
  const chunkHeader = await stream.read(CHUNK_HEADER_SIZE_BYTES);
  if (chunkHeader.length < CHUNK_HEADER_SIZE_BYTES) return undefined;
  const fail = (problem: string): never => {
    throw new CaptureError(`chunk ${index} at offset ${fileOffset}: ${problem}`, fileOffset, index);
  };
  const view = new DataView(chunkHeader.buffer, chunkHeader.byteOffset, chunkHeader.byteLength);
  const magic = latin1.decode(chunkHeader.subarray(0, 4));
  if (magic !== CHUNK_MAGIC) fail(`bad chunk magic ${JSON.stringify(magic)} (expected "MVCK")`);
  const kind = chunkHeader[4];
  const codec = chunkHeader[5];
  const storedSize = view.getUint32(8, true);
  const rawSize = view.getUint32(12, true);
  const checksum = view.getUint32(16, true);
  if (kind !== ChunkKind.Data && kind !== ChunkKind.Trailer) fail(`unknown chunk kind ${kind}`);
  if (codec !== ChunkCodec.Stored && codec !== ChunkCodec.Lz4Block && codec !== ChunkCodec.Deflate) fail(`unknown codec ${codec}`);
  if (kind === ChunkKind.Trailer && codec !== ChunkCodec.Stored) fail('trailer chunk is compressed');
  if (rawSize > MAX_CHUNK_RAW_SIZE_BYTES) fail(`raw size ${rawSize} bytes is over the ${MAX_CHUNK_RAW_SIZE_BYTES}-byte limit`);
  if (codec === ChunkCodec.Stored && storedSize !== rawSize) fail(`stored chunk with stored size ${storedSize} and raw size ${rawSize}`);
  if (codec !== ChunkCodec.Stored && storedSize > largestStoredSize(codec, rawSize)) {
    fail(`${CHUNK_CODEC_NAMES[codec]} stored size ${storedSize} bytes is impossible for raw size ${rawSize}`);
  }
  const stored = await stream.read(storedSize);
  if (stored.length < storedSize) return undefined;
  return { index, fileOffset, endPosition: stream.position, kind, codec, storedSize, rawSize, checksum, stored };
}

export class DecodeSession {
  private rangeIndex = new RangeIndex();
  private nodeOfSite: Int32Array = new Int32Array(0);
  private treeNodeCount = 0;
  /** Time of the last TIME record: a range reaching it takes in the events after it. */
  private lastTimeMs = 0;

  private constructor(readonly engine: DecoderExports) {}

  static async create(wasm: BufferSource | WebAssembly.Module): Promise<DecodeSession> {
    return new DecodeSession(await instantiateDecoder(wasm));
  }

  async decode(source: AsyncIterable<Uint8Array>, totalBytes: number, options: DecodeOptions = {}): Promise<CaptureModel> {
    const temporaryThreshold = options.temporaryThreshold ?? 1;
    if (!Number.isInteger(temporaryThreshold) || temporaryThreshold < 1 || temporaryThreshold > 0xffffffff) {
      throw new RangeError(`temporaryThreshold must be a positive integer, not ${temporaryThreshold}`);
    }
    const engine = this.engine;
    engine.init(temporaryThreshold);
    this.rangeIndex = new RangeIndex();
    const sink = new DictionarySink();
    const stream = new ByteStream(source);
    const header = await readCaptureHeader(stream);
    engine.setFormatVersion(header.formatVersion);
    let trailerSeen = false;
    // A trailer whose checksum does not match: read as a capture without its trailer (every data
    // chunk before it was whole), as the reference reader does (readChunks' tolerateDamagedTrailer).
    let trailerDamaged = false;
    let endTimeNs: number | undefined;

    const dataChunkOffsets: number[] = [];

    // Chunks up to the trailer; a chunk cut off by the end of the file ends a truncated capture.
    // Framing runs ahead of decoding by a few chunks when an unpacker checks and decompresses them
    // on another thread; a framing error is kept in its place and raised in file order.
    const unpacker = options.unpacker;
    const depth = unpacker ? UNPACK_AHEAD_CHUNKS : 1;
    const ahead: Array<{ chunk?: FramedChunk; failure?: unknown }> = [];
    let framedCount = 0;
    let framingDone = false;
    const fill = async () => {
      while (!framingDone && ahead.length < depth) {
        try {
          const chunk = await frameChunk(stream, framedCount++);
          if (chunk === undefined) {
            framingDone = true;
            break;
          }
          if (unpacker && chunk.kind === ChunkKind.Data) {
            chunk.unpacked = unpacker.unpack({ codec: chunk.codec, stored: chunk.stored, rawSize: chunk.rawSize, checksum: chunk.checksum });
            chunk.unpacked.catch(() => {});  // raised when its turn comes
          }
          ahead.push({ chunk });
          if (chunk.kind === ChunkKind.Trailer) framingDone = true;
        } catch (failure) {
          framingDone = true;
          ahead.push({ failure });
        }
      }
    };

    for (;;) {
      await fill();
      const next = ahead.shift();
      if (next === undefined) break;
      if (next.failure !== undefined) throw next.failure;
      const { index, fileOffset, codec, storedSize, rawSize, checksum, stored } = next.chunk!;
      const fail = (problem: string, offset = fileOffset): never => {
        throw new CaptureError(`chunk ${index} at offset ${fileOffset}: ${problem}`, offset, index);
      };
      const payloadStart = fileOffset + CHUNK_HEADER_SIZE_BYTES;
      const checksumMismatch = () =>
        fail(`checksum mismatch (header ${hex32(checksum)}, payload ${hex32(fnv1a32(stored))})`);

      if (next.chunk!.kind === ChunkKind.Trailer) {
        const input = engine.inputBuffer(storedSize) >>> 0;
        new Uint8Array(engine.memory.buffer, input, storedSize).set(stored);
        if (engine.checkStored(storedSize, checksum) !== 0) {
          trailerDamaged = true;
          break;
        }
        try {
          const trailer = parseTrailer(stored);
          checkTrailerIndex(trailer.dataChunkOffsets, dataChunkOffsets);
          endTimeNs = trailer.endTimeNs;
        } catch (error) {
          if (!(error instanceof PayloadError)) throw error;
          fail(`${error.message} (file offset ${payloadStart + error.position})`, payloadStart + error.position);
        }
        trailerSeen = true;
        options.onProgress?.(next.chunk!.endPosition, totalBytes);
        break;
      }
      dataChunkOffsets.push(fileOffset);

      if (next.chunk!.unpacked) {
        const unpacked = await next.chunk!.unpacked;
        if (unpacked.status === ERROR_CHECKSUM) checksumMismatch();
        if (unpacked.status !== 0) fail(`${engineErrorText(unpacked.status)} (payload byte 0)`, payloadStart);
        const input = engine.inputBuffer(rawSize) >>> 0;
        new Uint8Array(engine.memory.buffer, input, rawSize).set(unpacked.raw);
        engine.beginUnpackedChunk(rawSize);
      } else {
        const input = engine.inputBuffer(storedSize) >>> 0;
        new Uint8Array(engine.memory.buffer, input, storedSize).set(stored);
        const begun = engine.beginChunk(codec, storedSize, rawSize, checksum);
        if (begun === ERROR_CHECKSUM) checksumMismatch();
        if (begun !== 0) fail(`${engineErrorText(begun)} (payload byte 0)`, payloadStart);
      }
      for (;;) {
        const status = engine.step(STEP_BUDGET_BYTES);
        this.drainOutbox(sink, index, fileOffset);
        this.drainRangeOutbox();
        if (status === 0) break;
        if (status < 0) {
          const position = engine.errorOffset() >>> 0;
          const where = codec === ChunkCodec.Stored
            ? { offset: payloadStart + position, detail: `file offset ${payloadStart + position}` }
            : { offset: fileOffset, detail: `byte ${position} of the decompressed payload` };
          // Type 0: not inside a record (the address section), or a record of code 0.
          const record = engine.errorType() === 0 ? '' : `${recordName(engine.errorType())} record: `;
          fail(`${record}${engineErrorText(status)} (${where.detail})`, where.offset);
        }
      }
      options.onProgress?.(next.chunk!.endPosition, totalBytes);
    }
    if (trailerSeen && !(await stream.atEnd())) {
      throw new CaptureError(`offset ${stream.position}: data after the trailer, which ends a capture`, stream.position, -1);
    }
    options.onProgress?.(stream.position, totalBytes);
    const { model, nodeOfSite } = assembleModel(engine, sink, {
      formatVersion: header.formatVersion,
      flags: header.flags,
      truncated: !trailerSeen,
      trailerDamaged,
      endTimeNs,
      temporaryThreshold,
      dataChunks: dataChunkOffsets.length,
    });
    this.drainRangeOutbox();
    this.nodeOfSite = nodeOfSite;
    this.treeNodeCount = model.tree.count;
    this.lastTimeMs = Number(this.engine.lastTimeNs()) / 1e6;
    return model;
  }

  /** Width of the engine's finest time buckets (range peaks are kept per bucket of this width). */
  get rangeResolutionMs(): number {
    return 2 ** this.engine.rangeBucketWidthShift();
  }

  /** Width of the (coarser) time buckets a range is answered in: a range's ends snap to multiples of it. */
  get leakResolutionMs(): number {
    return 2 ** (this.engine.rangeBucketWidthShift() + this.engine.leakBucketShift());
  }

  /**
   * Peak within a range and what was allocated in it and still live at its end. Both views answer
   * the same range: [t0Ms, t1Ms] with its ends moved outwards to leak bucket boundaries (never
   * empty), returned as `snappedMs`. Leaks are known only per leak bucket, so an end inside one
   * cannot be honoured; a peak over a shorter range than its leaks could be less than them.
   * A range that reaches the last TIME record takes in the events after it, up to the end.
   */
  rangeViews(t0Ms: number, t1Ms: number): RangeViews {
    const leakShift = this.engine.leakBucketShift();
    const leakWidth = this.leakResolutionMs;
    const lastLeakBucket = MAX_RANGE_BUCKET >>> leakShift;
    const firstLeak = Math.min(Math.floor(Math.max(0, t0Ms) / leakWidth), lastLeakBucket);
    const endLeak = t1Ms >= this.lastTimeMs ? Math.floor(this.lastTimeMs / leakWidth) : Math.ceil(Math.max(0, t1Ms) / leakWidth) - 1;
    const lastLeak = Math.min(Math.max(firstLeak, endLeak), lastLeakBucket);
    const siteCount = this.nodeOfSite.length;
    const peak = { bytes: new Float64Array(this.treeNodeCount), count: new Float64Array(this.treeNodeCount) };
    const leaks = { bytes: new Float64Array(this.treeNodeCount), count: new Float64Array(this.treeNodeCount) };
    const peakBucket = this.rangeIndex.peakBucket(firstLeak << leakShift, ((lastLeak + 1) << leakShift) - 1);
    if (peakBucket >= 0) {
      const snapshot = this.rangeIndex.snapshot(peakBucket, siteCount);
      for (let site = 0; site < siteCount; site++) {
        peak.bytes[this.nodeOfSite[site]] += snapshot.bytes[site];
        peak.count[this.nodeOfSite[site]] += snapshot.counts[site];
      }
    }
    const perSite = new Float64Array(this.engine.memory.buffer, this.engine.rangeLeaks(firstLeak, lastLeak) >>> 0, siteCount * 2);
    for (let site = 0; site < siteCount; site++) {
      leaks.bytes[this.nodeOfSite[site]] += perSite[site * 2];
      leaks.count[this.nodeOfSite[site]] += perSite[site * 2 + 1];
    }
    return { peak, leaks, snappedMs: [firstLeak * leakWidth, Math.min((lastLeak + 1) * leakWidth, Math.max(t1Ms, this.lastTimeMs))] };
  }

  private drainRangeOutbox(): void {
    const length = this.engine.rangeOutboxSize() >>> 0;
    if (length === 0) return;
    this.rangeIndex.consume(new DataView(this.engine.memory.buffer, this.engine.rangeOutboxPointer() >>> 0, length));
    this.engine.rangeOutboxReset();
  }

  /** Feeds the dictionary records the engine collected to the sink, in file order. */
  private drainOutbox(sink: DictionarySink, chunkIndex: number, chunkOffset: number): void {
    const length = this.engine.outboxSize() >>> 0;
    if (length === 0) return;
    const outbox = new Uint8Array(this.engine.memory.buffer, this.engine.outboxPointer() >>> 0, length);
    try {
      // The outbox holds dictionary records only: no heap block is ever named in it.
      decodeRecords(outbox, sink, new HeapBlockNames(), { sections: false });
    } catch (error) {
      if (!(error instanceof PayloadError)) throw error;
      throw new CaptureError(`chunk ${chunkIndex} at offset ${chunkOffset}: ${error.message}`, chunkOffset, chunkIndex);
    }
    this.engine.outboxReset();
  }
}


function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}
