// Builds capture files by hand, following docs/capture-format.md, so reader tests can state exact
// answers. Records accumulate in the current chunk; `endChunk` closes it (delta bases restart,
// the current thread is written again at the start of the next one), `toBytes` adds the header
// and, unless asked not to, the trailer. Like the collector, it names freed heap blocks by ordinal
// and turns addresses into ordinals itself: tests free by address.
import { deflateRawSync } from 'node:zlib';
import { compressLz4Block } from './lz4-compress.js';

export const Allocator = {
  malloc: 1, calloc: 2, realloc: 3, posix_memalign: 4, aligned_alloc: 5, memalign: 6,
  valloc: 7, pvalloc: 8, new: 9, newArray: 10,
} as const;
export const Deallocator = { free: 1, delete: 2, deleteArray: 3 } as const;
/** Added to a deallocator kind when the freed block was never allocated. */
export const UNKNOWN_BLOCK = 8;
export const FORMAT_VERSION = 6;
// From docs/capture-format.md, "Addresses of new blocks" (written out here, not imported from a
// reader, so that a reader's mistake does not hide in the writer too).
const REUSE_WINDOW = 4194304;
const sizeClass = (sizeBytes: number): number => (sizeBytes < 65536 ? Math.floor((sizeBytes + 8) / 16) : 4097);
// Where a block's allocator chunk ends, from its address (glibc's malloc on 64 bits).
const chunkFootprint = (sizeBytes: number): number => (sizeBytes + 23 < 32 ? 32 : Math.floor((sizeBytes + 23) / 16) * 16);

const Code = {
  Alloc: 1, Free: 2, Realloc: 3, Map: 4, Unmap: 5, Thread: 6, Time: 7, Rss: 8, Stack: 9,
  StackReset: 10, CodeObject: 11, String: 12, Module: 13, Symbol: 14, Meta: 15,
} as const;

export interface CodeObjectSpec {
  start: number;
  sizeBytes: number;
  name: string;
  script?: string;
  line?: number;
  column?: number;
  codeType?: number;
  positions?: { pcOffset: number; line: number; column: number }[];
}

export interface ToBytesOptions {
  trailer?: boolean;
  codec?: 'stored' | 'lz4' | 'deflate';
  formatVersion?: number;
  flags?: number;
  /**
   * Records in one stream per thread slot with a schedule of runs, as the collector writes them
   * (version 6); by default one stream and an empty schedule. Version 5 has no schedule at all.
   */
  streams?: boolean;
}

/** A chunk as written so far: its sections, its records, and where the records switch threads. */
interface ChunkParts {
  sections: number[];
  records: number[];
  /** At record byte `at`, the records from then on belong to stream `stream`; `slotByte`: the byte there is a THREAD record naming a slot. */
  switches: { at: number; stream: number; slotByte: boolean }[];
}

export class SyntheticCapture {
  private readonly chunks: ChunkParts[] = [];
  private records: number[] = [];
  private switches: ChunkParts['switches'] = [];
  // The chunk's address section: new blocks' addresses, ahead of the records in the payload.
  private addressSection: number[] = [];
  private sizeSection: number[] = [];
  private addressBase = 0;
  private stackBase = 0;
  private blockBase = 0;
  // Live heap blocks, address → ordinal; ordinals count every ALLOC and REALLOC of the capture.
  private readonly liveBlocks = new Map<number, number>();
  private blockCount = 0;
  // Freed heap blocks, address → ordinal of the latest block freed there, for new blocks that
  // reuse the address ("Addresses of new blocks"); and per size class the last ordinal so named.
  private readonly freedBlocks = new Map<number, number>();
  /** The latest block whose allocator chunk ends at each address (address plus chunk footprint). */
  private readonly blockEnds = new Map<number, number>();
  private readonly reuseBase = new Map<number, number>();
  // Per size class, the freed blocks not yet reused, newest first, and each block's class: a new
  // block on the memory of one of the 8 newest is written by its rank (version 6).
  private readonly freedByClass = new Map<number, number[]>();
  private readonly classOfBlock = new Map<number, number>();
  private chunkFirstBlock = 0;
  private readonly chunkFirstBlocks: number[] = [];
  private pcBase = 0;
  private currentThread: number | undefined;
  private threadWrittenInChunk = false;
  // The chunk's thread table (slot k at index k; slot 0 is a thread outside it), the current
  // thread's slot, and per slot the base of new blocks' written addresses.
  private chunkThreads: number[] = [0];
  private threadSlot = 0;
  private newAddressBase = new Array<number>(16).fill(0);
  private readonly stringIds = new Map<string, number>();
  private nextStackId = 1;
  private readonly stackIdByPath = new Map<string, number>();
  private nextCodeStart = 0x10000;
  private lastTimeNs = 0;

  // --- dictionaries ---------------------------------------------------------------------------

  /** The id of `text`, writing a STRING record the first time. */
  string(text: string): number {
    if (text === '') return 0;
    let id = this.stringIds.get(text);
    if (id === undefined) {
      const bytes = new TextEncoder().encode(text);
      this.record(Code.String, 0, bytes.length);
      this.records.push(...bytes);
      id = this.stringIds.size + 1;
      this.stringIds.set(text, id);
    }
    return id;
  }

  meta(key: string, value: string): this {
    const keyRef = this.string(key);
    const valueRef = this.string(value);
    this.record(Code.Meta, 0, keyRef, valueRef);
    return this;
  }

  threadName(threadId: number, name: string): this {
    const nameRef = this.string(name);
    this.record(Code.Meta, 1, threadId, nameRef);
    return this;
  }

  code(spec: CodeObjectSpec): this {
    const nameRef = this.string(spec.name);
    const scriptRef = this.string(spec.script ?? '');
    const positions = spec.positions ?? [];
    this.record(Code.CodeObject, 0, spec.start, spec.sizeBytes, spec.codeType ?? 1, nameRef, scriptRef,
      spec.line ?? 0, spec.column ?? 0, positions.length);
    let previous = 0;
    for (const position of positions) {
      this.varints(position.pcOffset - previous, position.line, position.column);
      previous = position.pcOffset;
    }
    return this;
  }

  codeMove(from: number, to: number): this {
    this.record(Code.CodeObject, 1, from, to);
    return this;
  }

  /** A JIT code object of 256 bytes at a fresh address; returns a return-address pc inside it. */
  jsFunction(name: string, script: string, line: number, column: number): number {
    const start = this.nextCodeStart;
    this.nextCodeStart += 0x1000;
    this.code({ start, sizeBytes: 256, name, script, line, column });
    return start + 0x10;
  }

  module(path: string, loadBias: number, segments: { start: number; lengthBytes: number }[], buildId = [0xab, 0xcd]): this {
    const pathRef = this.string(path);
    this.record(Code.Module, 0, loadBias, pathRef, buildId.length);
    this.records.push(...buildId);
    this.varints(segments.length);
    for (const segment of segments) this.varints(segment.start, segment.lengthBytes);
    return this;
  }

  symbol(pc: number, functionName: string, file: string, line: number): this {
    const functionRef = this.string(functionName);
    const fileRef = this.string(file);
    this.record(Code.Symbol, 0, pc, functionRef, fileRef, line);
    return this;
  }

  /** A STACK record under `parentId`; returns the new node's id. */
  stackNode(parentId: number, pc: number): number {
    const id = this.nextStackId++;
    this.type(Code.Stack, 0);
    this.varints(id - parentId);
    this.zigzag(pc - this.pcBase);
    this.pcBase = pc;
    return id;
  }

  /** The stack id of a call path given outermost first, defining the nodes not yet defined. */
  stack(pcsOutermostFirst: number[]): number {
    let id = 0;
    let path = '';
    for (const pc of pcsOutermostFirst) {
      path += `/${pc}`;
      let known = this.stackIdByPath.get(path);
      if (known === undefined) {
        known = this.stackNode(id, pc);
        this.stackIdByPath.set(path, known);
      }
      id = known;
    }
    return id;
  }

  stackReset(): this {
    this.type(Code.StackReset, 0);
    this.nextStackId = 1;
    this.stackIdByPath.clear();
    return this;
  }

  // --- context --------------------------------------------------------------------------------

  /** A THREAD record: by its slot when the chunk already named the thread, else by its id. */
  thread(threadId: number): this {
    this.currentThread = threadId;
    const slot = this.chunkThreads.indexOf(threadId, 1);
    if (slot > 0) {
      this.switches.push({ at: this.records.length, stream: slot, slotByte: true });
      this.type(Code.Thread, slot);
      this.threadSlot = slot;
    } else {
      const newSlot = this.chunkThreads.length <= 15 ? this.chunkThreads.length : 0;
      this.switches.push({ at: this.records.length, stream: newSlot, slotByte: false });
      this.record(Code.Thread, 0, threadId);
      this.threadSlot = newSlot > 0 ? this.chunkThreads.push(threadId) - 1 : 0;
    }
    this.threadWrittenInChunk = true;
    return this;
  }

  time(timeNs: number, rssBytes?: number): this {
    this.lastTimeNs = timeNs;
    this.record(Code.Time, 0, timeNs);
    if (rssBytes !== undefined) this.record(Code.Rss, 0, rssBytes);
    return this;
  }

  // --- memory events --------------------------------------------------------------------------

  alloc(address: number, sizeBytes: number, stackId: number, kind: number = Allocator.malloc): this {
    this.newBlock(address);
    this.eventType(Code.Alloc, kind);
    this.newBlockAddress(address, sizeBytes);
    pushVarint(this.sizeSection, sizeBytes);
    this.stackId(stackId);
    return this;
  }

  /** A FREE of the block at `address`, by ordinal; by address (kind + 8) when no block lives there. */
  free(address: number, kind: number = Deallocator.free): this {
    const ordinal = this.liveBlocks.get(address);
    if (ordinal === undefined) {
      this.eventType(Code.Free, kind + UNKNOWN_BLOCK);
      this.address(address);
      return this;
    }
    this.liveBlocks.delete(address);
    this.freedBlocks.set(address, ordinal);
    this.listFreed(ordinal);
    this.eventType(Code.Free, kind);
    this.block(ordinal);
    return this;
  }

  realloc(oldAddress: number, newAddress: number, sizeBytes: number, stackId: number): this {
    const oldBlock = this.liveBlocks.get(oldAddress);
    if (oldBlock === undefined) {
      // As the collector writes it: the free of an unknown block, then a realloc-kind allocation.
      this.free(oldAddress);
      return this.alloc(newAddress, sizeBytes, stackId, Allocator.realloc);
    }
    this.liveBlocks.delete(oldAddress);
    this.freedBlocks.set(oldAddress, oldBlock);
    this.newBlock(newAddress);
    this.listFreed(oldBlock);  // after newBlock's FREE of a block still live there, as readers take them
    this.eventType(Code.Realloc, 0);
    this.block(oldBlock);
    this.newBlockAddress(newAddress, sizeBytes);
    pushVarint(this.sizeSection, sizeBytes);
    this.stackId(stackId);
    return this;
  }

  map(address: number, lengthBytes: number, stackId: number, cause = 1): this {
    this.eventType(Code.Map, cause);
    this.address(address);
    this.varints(lengthBytes);
    this.stackId(stackId);
    return this;
  }

  unmap(address: number, lengthBytes: number, cause = 1): this {
    this.eventType(Code.Unmap, cause);
    this.address(address);
    this.varints(lengthBytes);
    return this;
  }

  /** Raw bytes appended to the current chunk's records, for corrupting captures on purpose. */
  raw(bytes: number[]): this {
    this.records.push(...bytes);
    return this;
  }

  /** Raw bytes appended to the current chunk's address section. */
  rawAddress(bytes: number[]): this {
    this.addressSection.push(...bytes);
    return this;
  }

  /** Raw bytes appended to the current chunk's size section. */
  rawSize(bytes: number[]): this {
    this.sizeSection.push(...bytes);
    return this;
  }

  // --- chunks and file ------------------------------------------------------------------------

  endChunk(): this {
    if (this.records.length > 0 || this.addressSection.length > 0 || this.sizeSection.length > 0) {
      const addressLength: number[] = [];
      pushVarint(addressLength, this.addressSection.length);
      const sizeLength: number[] = [];
      pushVarint(sizeLength, this.sizeSection.length);
      this.chunks.push({ sections: [...addressLength, ...this.addressSection, ...sizeLength, ...this.sizeSection], records: this.records, switches: this.switches });
      this.chunkFirstBlocks.push(this.chunkFirstBlock);
    }
    this.records = [];
    this.switches = [];
    this.addressSection = [];
    this.sizeSection = [];
    this.addressBase = 0;
    this.stackBase = 0;
    this.blockBase = 0;
    this.reuseBase.clear();
    this.chunkThreads = [0];
    this.threadSlot = 0;
    this.newAddressBase.fill(0);
    this.chunkFirstBlock = this.blockCount;
    this.pcBase = 0;
    this.threadWrittenInChunk = false;
    return this;
  }

  toBytes(options: ToBytesOptions = {}): Uint8Array {
    this.endChunk();
    const parts: Uint8Array[] = [fileHeader(options.formatVersion ?? FORMAT_VERSION, options.flags ?? 0)];
    const chunkOffsets: number[] = [];
    let offset = parts[0].length;
    const version = options.formatVersion ?? FORMAT_VERSION;
    for (const written of this.chunks) {
      const raw = Uint8Array.from([...written.sections, ...(version < 6 ? written.records : scheduledRecords(written, options.streams ?? false))]);
      const chunk = options.codec === 'lz4' ? chunkBytes(1, 1, compressLz4Block(raw), raw.length)
        : options.codec === 'deflate' ? chunkBytes(1, 2, deflateRawSync(raw), raw.length)
        : chunkBytes(1, 0, raw, raw.length);
      chunkOffsets.push(offset);
      parts.push(chunk);
      offset += chunk.length;
    }
    if (options.trailer ?? true) {
      const trailer: number[] = [];
      pushVarint(trailer, chunkOffsets.length);
      chunkOffsets.forEach((chunkOffset, i) => {
        pushVarint(trailer, chunkOffset);
        pushVarint(trailer, 0);
        pushVarint(trailer, this.chunkFirstBlocks[i]);
      });
      pushVarint(trailer, 0);
      pushVarint(trailer, this.lastTimeNs);
      parts.push(chunkBytes(2, 0, Uint8Array.from(trailer), trailer.length));
    }
    return concat(parts);
  }

  private eventType(code: number, argument: number): void {
    // Chunks are independent: the thread of the events is named again in every chunk.
    if (!this.threadWrittenInChunk && this.currentThread !== undefined) this.thread(this.currentThread);
    this.type(code, argument);
  }

  private address(address: number): void {
    this.zigzag(address - this.addressBase);
    this.addressBase = address;
  }

  /**
   * The address of the block newBlock just created, as the collector writes it: a reference to the
   * freed block that last held the address when it is recent enough, else the address.
   */
  private newBlockAddress(address: number, sizeBytes: number): void {
    const reused = this.freedBlocks.get(address);
    const ordinal = this.blockCount - 1;
    this.blockEnds.set(address + chunkFootprint(sizeBytes), ordinal);
    const sizeClassIndex = sizeClass(sizeBytes);
    this.classOfBlock.set(ordinal, sizeClassIndex);
    if (reused !== undefined && ordinal - reused <= REUSE_WINDOW) {
      const reusedList = this.freedByClass.get(this.classOfBlock.get(reused)!)!;
      const rank = reusedList.indexOf(reused);
      reusedList.splice(rank, 1);
      if (this.classOfBlock.get(reused) === sizeClassIndex && rank < 8) {
        pushVarint(this.addressSection, 4 * rank + 3);
        return;
      }
      const chunkOrdinal = reused - this.chunkFirstBlock;
      const delta = chunkOrdinal - (this.reuseBase.get(sizeClassIndex) ?? 0);
      this.reuseBase.set(sizeClassIndex, chunkOrdinal);
      pushVarint(this.addressSection, 4 * (delta < 0 ? -2 * delta - 1 : 2 * delta) + 1);
      return;
    }
    const following = this.blockEnds.get(address);
    if (following !== undefined && following < ordinal && ordinal - following <= REUSE_WINDOW) {
      pushVarint(this.addressSection, 4 * (ordinal - following - 1) + 2);
      return;
    }
    const delta = address - this.newAddressBase[this.threadSlot];
    this.newAddressBase[this.threadSlot] = address;
    pushVarint(this.addressSection, 4 * (delta < 0 ? -2 * delta - 1 : 2 * delta));
  }

  /** A new heap block at `address`; a block still live there was freed unseen, and gets its FREE first. */
  private newBlock(address: number): void {
    const missed = this.liveBlocks.get(address);
    if (missed !== undefined) {
      this.freedBlocks.set(address, missed);
      this.listFreed(missed);
      this.eventType(Code.Free, Deallocator.free);
      this.block(missed);
    }
    this.liveBlocks.set(address, this.blockCount++);
  }

  private listFreed(ordinal: number): void {
    const sizeClassIndex = this.classOfBlock.get(ordinal)!;
    const list = this.freedByClass.get(sizeClassIndex) ?? [];
    this.freedByClass.set(sizeClassIndex, list);
    list.unshift(ordinal);
  }

  private block(ordinal: number): void {
    const chunkOrdinal = ordinal - this.chunkFirstBlock;
    this.zigzag(chunkOrdinal - this.blockBase);
    this.blockBase = chunkOrdinal;
  }

  private stackId(stackId: number): void {
    this.zigzag(stackId - this.stackBase);
    this.stackBase = stackId;
  }

  private record(code: number, argument: number, ...fields: number[]): void {
    this.type(code, argument);
    this.varints(...fields);
  }

  private type(code: number, argument: number): void {
    this.records.push(code | (argument << 4));
  }

  private varints(...values: number[]): void {
    for (const value of values) pushVarint(this.records, value);
  }

  private zigzag(value: number): void {
    pushVarint(this.records, value >= 0 ? value * 2 : -value * 2 - 1);
  }
}

/**
 * A version 6 chunk's records: the schedule section, then the records, either as they are (an
 * empty schedule) or in one stream per thread slot, without the THREAD records that name a slot.
 */
function scheduledRecords(parts: ChunkParts, streams: boolean): number[] {
  if (!streams) return [0, ...parts.records];
  const streamBytes: number[][] = Array.from({ length: 16 }, () => []);
  const schedule: number[] = [];
  let stream = 0;
  let from = 0;
  const run = (to: number) => {
    if (to > from) {
      streamBytes[stream].push(...parts.records.slice(from, to));
      pushVarint(schedule, stream);
      pushVarint(schedule, to - from);
    }
  };
  for (const change of parts.switches) {
    run(change.at);
    stream = change.stream;
    from = change.slotByte ? change.at + 1 : change.at;
  }
  run(parts.records.length);
  const length: number[] = [];
  pushVarint(length, schedule.length);
  return [...length, ...schedule, ...streamBytes.flat()];
}

export function pushVarint(out: number[], value: number): void {
  if (value < 0 || !Number.isInteger(value)) throw new Error(`varint of ${value}`);
  while (value >= 128) {
    out.push((value % 128) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
}

export function fnv1a32(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193);
  return hash >>> 0;
}

function fileHeader(formatVersion: number, flags: number): Uint8Array {
  const header = new Uint8Array(16);
  header.set(new TextEncoder().encode('MEMVIEW'), 0);
  const view = new DataView(header.buffer);
  view.setUint16(8, formatVersion, true);
  view.setUint16(10, flags, true);
  return header;
}

export function chunkBytes(kind: number, codec: number, stored: Uint8Array, rawSize: number): Uint8Array {
  const chunk = new Uint8Array(24 + stored.length);
  chunk.set(new TextEncoder().encode('MVCK'), 0);
  chunk[4] = kind;
  chunk[5] = codec;
  const view = new DataView(chunk.buffer);
  view.setUint32(8, stored.length, true);
  view.setUint32(12, rawSize, true);
  view.setUint32(16, fnv1a32(stored), true);
  chunk.set(stored, 24);
  return chunk;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

/** The bytes as a stream of pieces of `pieceBytes` each, as a file would be read. */
export async function* piecesOf(bytes: Uint8Array, pieceBytes = 7): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += pieceBytes) yield bytes.subarray(offset, offset + pieceBytes);
}
