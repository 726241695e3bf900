// Data chunks that name native pcs, in the capture format (docs/capture-format.md): STRING records
// for the names, SYMBOL records, and META records, stored uncompressed. Written after the fact into
// a capture whose process died before its collector could write them (killed-capture.ts).
import { fnv1a32 } from './reader/fnv1a.js';
import { CHUNK_HEADER_SIZE_BYTES, CHUNK_MAGIC, ChunkCodec, ChunkKind, MetaSubtype, RecordCode } from './reader/format.js';

export interface NamedPc {
  pc: number;
  function: string | null;
  file: string | null;
  line: number;
}

// Well under the format's 16 MiB limit on a chunk: a reader holds one chunk at a time.
const CHUNK_PAYLOAD_TARGET_BYTES = 4 << 20;
const utf8 = new TextEncoder();

export class SymbolChunks {
  private readonly chunks: Uint8Array[] = [];
  private bytes: number[] = [];
  private readonly stringIds = new Map<string, number>();

  /**
   * `stringsSoFar`: how many STRING records the capture holds (ids are implicit, in file order);
   * `eventsSoFar`: its event count, for the chunks' first-event field.
   */
  constructor(private stringsSoFar: number, private readonly eventsSoFar: number, private readonly formatVersion: number) {}

  symbol({ pc, function: name, file, line }: NamedPc): void {
    const functionRef = this.stringRef(name);
    const fileRef = this.stringRef(file);
    this.bytes.push(RecordCode.Symbol);
    this.varints(pc, functionRef, fileRef, line);
    this.endRecord();
  }

  meta(key: string, value: string): void {
    const keyRef = this.stringRef(key);
    const valueRef = this.stringRef(value);
    this.bytes.push(RecordCode.Meta | (MetaSubtype.KeyValue << 4));
    this.varints(keyRef, valueRef);
    this.endRecord();
  }

  /** The chunks, each with its 24-byte header. */
  finish(): Uint8Array[] {
    if (this.bytes.length > 0) this.closeChunk();
    return this.chunks;
  }

  private stringRef(text: string | null): number {
    if (text === null) return 0;
    const known = this.stringIds.get(text);
    if (known !== undefined) return known;
    // A string defined in an earlier chunk keeps its id: ids span the capture.
    const encoded = utf8.encode(text);
    this.bytes.push(RecordCode.String);
    this.varints(encoded.length);
    for (const byte of encoded) this.bytes.push(byte);
    const id = ++this.stringsSoFar;
    this.stringIds.set(text, id);
    return id;
  }

  private endRecord(): void {
    if (this.bytes.length >= CHUNK_PAYLOAD_TARGET_BYTES) this.closeChunk();
  }

  private closeChunk(): void {
    // No new heap blocks: empty address and size sections, then the records (since version 6 after
    // an empty schedule: one stream, in order).
    const sectionCount = this.formatVersion >= 6 ? 3 : 2;
    const payload = new Uint8Array(sectionCount + this.bytes.length);
    payload.set(this.bytes, sectionCount);
    this.bytes = [];
    const chunk = new Uint8Array(CHUNK_HEADER_SIZE_BYTES + payload.length);
    const view = new DataView(chunk.buffer);
    for (let i = 0; i < 4; i++) chunk[i] = CHUNK_MAGIC.charCodeAt(i);
    chunk[4] = ChunkKind.Data;
    chunk[5] = ChunkCodec.Stored;
    view.setUint32(8, payload.length, true);
    view.setUint32(12, payload.length, true);
    view.setUint32(16, fnv1a32(payload), true);
    view.setUint32(20, this.eventsSoFar >>> 0, true);
    chunk.set(payload, CHUNK_HEADER_SIZE_BYTES);
    this.chunks.push(chunk);
  }

  private varints(...values: number[]): void {
    for (let value of values) {
      if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`cannot write ${value} as a varint`);
      while (value >= 0x80) {
        this.bytes.push((value % 0x80) | 0x80);
        value = Math.floor(value / 0x80);
      }
      this.bytes.push(value);
    }
  }
}
