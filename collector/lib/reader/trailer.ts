// The trailer chunk (docs/capture-format.md, "Trailer chunk"): an index of the data chunks and
// the end time. The reader needs only the end time; the chunk list is checked against the file.
import { PayloadError } from './capture-error.js';
import { PayloadCursor } from './payload-cursor.js';

export interface Trailer {
  /** File offsets of the data chunks' headers, in file order. */
  dataChunkOffsets: number[];
  totalEvents: number;
  endTimeNs: number;
}

export function parseTrailer(payload: Uint8Array): Trailer {
  const cursor = new PayloadCursor(payload);
  const dataChunkCount = cursor.varint();
  const dataChunkOffsets: number[] = [];
  for (let i = 0; i < dataChunkCount; i++) {
    dataChunkOffsets.push(cursor.varint());
    cursor.varint(); // the chunk's first event time
    cursor.varint(); // the ordinal of the chunk's first heap block
  }
  const totalEvents = cursor.varint();
  const endTimeNs = cursor.varint();
  if (!cursor.atEnd) throw new PayloadError('trailer has bytes after its end time', cursor.position);
  return { dataChunkOffsets, totalEvents, endTimeNs };
}

/** The trailer indexes the data chunks; a mismatch means chunks were lost or misread. */
export function checkTrailerIndex(listed: number[], read: number[]): void {
  if (listed.length !== read.length) {
    throw new PayloadError(`trailer lists ${listed.length} data chunks, the file has ${read.length}`, 0);
  }
  const first = listed.findIndex((offset, i) => offset !== read[i]);
  if (first >= 0) {
    throw new PayloadError(`trailer places data chunk ${first} at offset ${listed[first]}, the file has it at ${read[first]}`, 0);
  }
}
