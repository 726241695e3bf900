// A capture file as a stream of pieces of a few MB: the engine never needs the whole file.
import { createReadStream } from 'node:fs';

export const FILE_PIECE_BYTES = 4 << 20;

export function fileSource(path: string): AsyncIterable<Uint8Array> {
  return createReadStream(path, { highWaterMark: FILE_PIECE_BYTES });
}
