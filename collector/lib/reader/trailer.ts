// The trailer chunk (docs/capture-format.md, "Trailer chunk"): an index of the data chunks and
// the end time. The reader needs only the end time; the rest is checked for shape.
import { PayloadError } from './capture-error.js';
import { PayloadCursor } from './payload-cursor.js';

export interface Trailer {
  dataChunkCount: number;
  totalEvents: number;
  endTimeNs: number;
}

export function parseTrailer(payload: Uint8Array): Trailer {
  const cursor = new PayloadCursor(payload);
  const dataChunkCount = cursor.varint();
  for (let i = 0; i < dataChunkCount; i++) {
    cursor.varint(); // file offset of the chunk
    cursor.varint(); // its first event time
  }
  const totalEvents = cursor.varint();
  const endTimeNs = cursor.varint();
  if (!cursor.atEnd) throw new PayloadError('trailer has bytes after its end time', cursor.position);
  return { dataChunkCount, totalEvents, endTimeNs };
}
