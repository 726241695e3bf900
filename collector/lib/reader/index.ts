// memview's TypeScript reference reader: capture file → CaptureModel, streaming (a capture can be
// many GB; only one chunk is held at a time). Small and slow on purpose; it is the oracle for the
// wasm decoder. docs/capture-format.md is the contract it follows.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { CaptureModel } from '../../../viewer/model/types.js';
import { ByteStream } from './byte-stream.js';
import { CaptureAggregator } from './capture-aggregator.js';
import { CaptureError } from './capture-error.js';
import { readCaptureHeader, readChunks, withChunkPosition } from './chunk-reader.js';
import { ChunkKind } from './format.js';
import { HeapBlockNames } from './heap-block-names.js';
import { decodeRecords } from './record-decoder.js';
import { checkTrailerIndex, parseTrailer } from './trailer.js';

export { CaptureError } from './capture-error.js';
export { topLocations } from './top-locations.js';

export interface ReadOptions {
  /** A block is temporary when freed before its thread makes this many more allocations (default 1). */
  temporaryThreshold?: number;
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

const READ_PIECE_BYTES = 1 << 20;

export async function readCaptureFile(path: string, options?: ReadOptions): Promise<CaptureModel> {
  const { size } = await stat(path);
  return readCapture(createReadStream(path, { highWaterMark: READ_PIECE_BYTES }), size, options);
}

export async function readCapture(
  source: AsyncIterable<Uint8Array>, totalBytes: number, options: ReadOptions = {},
): Promise<CaptureModel> {
  const temporaryThreshold = options.temporaryThreshold ?? 1;
  if (!Number.isInteger(temporaryThreshold) || temporaryThreshold < 1) {
    throw new RangeError(`temporaryThreshold must be a positive integer, not ${temporaryThreshold}`);
  }
  const stream = new ByteStream(source);
  const header = await readCaptureHeader(stream);
  const aggregator = new CaptureAggregator(temporaryThreshold);
  const blocks = new HeapBlockNames(header.formatVersion);
  let endTimeNs: number | undefined;
  let trailerSeen = false;
  let trailerDamaged = false;
  const dataChunkOffsets: number[] = [];
  let chunksRead = 0;

  for await (const chunk of readChunks(stream, { tolerateDamagedTrailer: true })) {
    if (chunk.damaged) {
      trailerDamaged = true;  // read as a capture without its trailer; what follows is not looked at
      break;
    }
    withChunkPosition(chunk, () => {
      if (chunk.kind === ChunkKind.Trailer) {
        const trailer = parseTrailer(chunk.payload);
        checkTrailerIndex(trailer.dataChunkOffsets, dataChunkOffsets);
        endTimeNs = trailer.endTimeNs;
        trailerSeen = true;
      } else {
        dataChunkOffsets.push(chunk.fileOffset);
        decodeRecords(chunk.payload, aggregator, blocks);
      }
    });
    chunksRead++;
    options.onProgress?.(stream.position, totalBytes);
  }
  if (trailerSeen && !(await stream.atEnd())) {
    throw new CaptureError(`offset ${stream.position}: data after the trailer, which ends a capture`, stream.position, chunksRead);
  }
  options.onProgress?.(stream.position, totalBytes);
  return aggregator.finish({
    formatVersion: header.formatVersion,
    flags: header.flags,
    truncated: !trailerSeen,
    endTimeNs,
    dataChunks: dataChunkOffsets.length,
    trailerDamaged,
  });
}
