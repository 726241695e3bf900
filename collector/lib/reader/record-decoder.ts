// Decodes one chunk payload into calls on a RecordSink (docs/capture-format.md, "Records"): this
// file owns the wire layout and the delta bases, nothing else. Dictionaries (strings, stack ids,
// code objects) span chunks and live in the sink; the live heap blocks, which FREE and REALLOC
// name by ordinal, span chunks and live in a HeapBlockNames that turns ordinals into addresses.
import { PayloadError } from './capture-error.js';
import { CodeSubtype, MetaSubtype, RecordCode, THREAD_SLOTS, UNKNOWN_BLOCK } from './format.js';
import type { HeapBlockNames } from './heap-block-names.js';

/** What the decoder needs of the heap blocks: HeapBlockNames, or BlockCounter for a pass without addresses. */
export type HeapBlockLedger = Pick<HeapBlockNames, 'beginChunk' | 'create' | 'followingAddress' | 'reusedAddress' | 'rankedAddress' | 'ordinalOf' | 'release' | 'formatVersion'>;
import { PayloadCursor, unzigzag } from './payload-cursor.js';

export interface CodePosition {
  pcOffset: number;
  line: number;
  column: number;
}

export interface CodeAdd {
  start: number;
  sizeBytes: number;
  codeType: number;
  nameRef: number;
  scriptRef: number;
  line: number;
  column: number;
  positions: CodePosition[];
}

export interface ModuleRecord {
  loadBias: number;
  pathRef: number;
  buildId: Uint8Array;
  segments: { start: number; lengthBytes: number }[];
}

/**
 * What a reader does with records. Addresses, stack ids and pcs arrive absolute (delta bases
 * already applied); `threadId` is the thread of the last THREAD record in the chunk (0 before one).
 * Heap blocks arrive with their ordinal (`block`) and their address; a FREE of a block the
 * collector never saw allocated has block -1. A sink rejects a record that contradicts the
 * capture by throwing a PayloadError (position -1).
 */
export interface RecordSink {
  alloc(threadId: number, kind: number, address: number, sizeBytes: number, stackId: number, block: number): void;
  free(threadId: number, kind: number, address: number, block: number): void;
  realloc(threadId: number, oldAddress: number, newAddress: number, sizeBytes: number, stackId: number, oldBlock: number, newBlock: number): void;
  map(threadId: number, cause: number, address: number, lengthBytes: number, stackId: number): void;
  unmap(threadId: number, cause: number, address: number, lengthBytes: number): void;
  thread(threadId: number): void;
  time(timeNs: number): void;
  rss(rssBytes: number): void;
  /** `parentDistance` is newId - parentId, as written. */
  stack(parentDistance: number, pc: number): void;
  stackReset(): void;
  codeAdd(code: CodeAdd): void;
  codeMove(from: number, to: number): void;
  string(text: string): void;
  module(module: ModuleRecord): void;
  symbol(pc: number, functionRef: number, fileRef: number, line: number): void;
  metaValue(keyRef: number, valueRef: number): void;
  threadName(threadId: number, nameRef: number): void;
}

const RECORD_NAMES = Object.fromEntries(Object.entries(RecordCode).map(([name, code]) => [code, name.toUpperCase()]));

/**
 * Feeds every record of a chunk's `payload` to `sink`; returns the number of records. `blocks`
 * carries the live heap blocks from chunk to chunk: one instance per capture, fed every chunk in
 * order. `sections: false` reads bare records (the wasm engine's outbox): no address or size
 * section ahead of them, and the sizes of ALLOC records among their fields. `addresses: false`
 * skips the address section and hands sinks 0 for every heap address (with a BlockCounter as
 * `blocks`: a pass that wants the records' other fields, fast).
 */
/**
 * The records of a chunk whose record streams start at `streamsOffset` in its payload, in the
 * order the schedule gives (docs/capture-format.md, "Chunk"): each run takes the next bytes of its
 * stream, and a run of a thread slot's stream that had a run before, after a run of another
 * stream, gets the THREAD record naming its slot in front.
 */
function mergedRecordStreams(schedule: PayloadCursor, streams: Uint8Array, streamsOffset: number): PayloadCursor {
  const runs: number[] = [];
  const streamBytes = new Array<number>(THREAD_SLOTS + 1).fill(0);
  let runCount = 0;
  while (!schedule.atEnd) {
    const runStart = schedule.position;
    const stream = schedule.varint();
    const bytes = schedule.varint();
    if (stream > THREAD_SLOTS || bytes === 0) {
      throw new PayloadError(stream > THREAD_SLOTS ? `the schedule names record stream ${stream}; there are ${THREAD_SLOTS + 1}` : 'the schedule has a run of no bytes', runStart);
    }
    runs.push(stream, bytes);
    streamBytes[stream] += bytes;
    runCount++;
  }
  const total = streamBytes.reduce((sum, bytes) => sum + bytes, 0);
  if (total !== streams.length) {
    throw new PayloadError(`the schedule's runs hold ${total} bytes of records, the chunk ${streams.length}`, streamsOffset);
  }
  const next = new Array<number>(THREAD_SLOTS + 1);
  for (let stream = 0, at = 0; stream <= THREAD_SLOTS; stream++) {
    next[stream] = at;
    at += streamBytes[stream];
  }
  const merged = new Uint8Array(total + runCount);
  const seen = new Array<boolean>(THREAD_SLOTS + 1).fill(false);
  // Where each run starts in the merged records (its THREAD record, when one was put back) and in
  // the payload, so that an error names the payload's byte.
  const mergedStarts: number[] = [];
  const payloadStarts: number[] = [];
  const threadPutBack: boolean[] = [];
  let length = 0;
  let previous = -1;
  for (let i = 0; i < runs.length; i += 2) {
    const stream = runs[i];
    const bytes = runs[i + 1];
    mergedStarts.push(length);
    payloadStarts.push(streamsOffset + next[stream]);
    const putBack = stream !== 0 && stream !== previous && seen[stream];
    threadPutBack.push(putBack);
    if (putBack) merged[length++] = RecordCode.Thread | (stream << 4);
    merged.set(streams.subarray(next[stream], next[stream] + bytes), length);
    length += bytes;
    next[stream] += bytes;
    seen[stream] = true;
    previous = stream;
  }
  // A THREAD record put back is not in the payload: the first byte of its run stands for it.
  const payloadPosition = (position: number): number => {
    let low = 0;
    let high = mergedStarts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (mergedStarts[middle] <= position) low = middle;
      else high = middle - 1;
    }
    return payloadStarts[low] + Math.max(0, position - mergedStarts[low] - (threadPutBack[low] ? 1 : 0));
  };
  return new PayloadCursor(merged.subarray(0, length), payloadPosition);
}

export function decodeRecords(payload: Uint8Array, sink: RecordSink, blocks: HeapBlockLedger,
  { sections = true, addresses: resolveAddresses = true }: { sections?: boolean; addresses?: boolean } = {}): number {
  let cursor = new PayloadCursor(payload);
  blocks.beginChunk();
  if (payload.length === 0) return 0;  // an empty chunk: not even the address section's length
  // The address and size sections (docs/capture-format.md, "Chunk"): new blocks' addresses and
  // sizes, then the records.
  const section = (name: string): PayloadCursor => {
    const sectionStart = cursor.position;
    const sectionBytes = sections ? cursor.varint() : 0;
    if (sectionBytes > payload.length - cursor.position) {
      throw new PayloadError(`the ${name} section of ${sectionBytes} bytes runs past the end of the chunk (${payload.length - cursor.position} bytes left)`, sectionStart);
    }
    const part = new PayloadCursor(payload.subarray(0, cursor.position + sectionBytes));
    part.position = cursor.position;
    cursor.position += sectionBytes;
    return part;
  };
  const addresses = section('address');
  const sizes = sections ? section('size') : cursor;
  // Version 6: the records come in one stream per thread slot, put back in order by the schedule.
  if (sections && blocks.formatVersion >= 6) {
    const schedule = section('schedule');
    if (!schedule.atEnd) cursor = mergedRecordStreams(schedule, payload.subarray(cursor.position), cursor.position);
  }
  const newBlockSize = (): number => {
    if (sections && sizes.atEnd) throw new PayloadError('the chunk\'s size section has no size left for this new block', -1);
    return sizes.varint();
  };
  // Delta bases restart at zero in every chunk.
  let addressBase = 0;
  let stackBase = 0;
  let blockBase = 0;
  let pcBase = 0;
  let threadId = 0;
  let records = 0;
  // The chunk's thread table (slot k at index k; slot 0 is a thread outside it), the current
  // thread's slot, and per slot the base of new blocks' written addresses.
  const threadSlots: number[] = [0];
  let threadSlot = 0;
  const newAddressBase = new Array<number>(THREAD_SLOTS + 1).fill(0);
  // A new block's address, the next of the address section: a reference to the freed block it
  // reuses, by ordinal (low bits 01) or by rank (11), to the block whose chunk it follows (10), or
  // an address (00). Version 5 had no ranks: low bit 1 was the ordinal form, with one bit less.
  const ranks = blocks.formatVersion >= 6;
  const newBlockAddress = (sizeBytes: number): number => {
    if (!sections || !resolveAddresses) return 0;  // bare records have none; a pass without addresses skips them
    if (addresses.atEnd) throw new PayloadError('the chunk\'s address section has no address left for this new block', -1);
    const reference = addresses.varint();
    switch (reference % 4) {
      case 0: return (newAddressBase[threadSlot] += unzigzag(reference / 4));
      case 2: return blocks.followingAddress((reference - 2) / 4 + 1);
      case 1: return ranks ? blocks.reusedAddress(unzigzag((reference - 1) / 4), sizeBytes) : blocks.reusedAddress(unzigzag((reference - 1) / 2), sizeBytes);
      default: return ranks ? blocks.rankedAddress((reference - 3) / 4, sizeBytes) : blocks.reusedAddress(unzigzag((reference - 1) / 2), sizeBytes);
    }
  };

  while (!cursor.atEnd) {
    const recordStart = cursor.position;
    const typeByte = cursor.byte();
    const code = typeByte & 0x0f;
    const argument = typeByte >>> 4;
    try {
      switch (code) {
        case RecordCode.Alloc: {
          const sizeBytes = newBlockSize();
          const stackId = stackBase + cursor.zigzag();
          const address = newBlockAddress(sizeBytes);
          stackBase = stackId;
          sink.alloc(threadId, argument, address, sizeBytes, stackId, blocks.create(address, sizeBytes));
          break;
        }
        case RecordCode.Free: {
          if (argument > UNKNOWN_BLOCK) {
            const address = addressBase + cursor.zigzag();
            addressBase = address;
            sink.free(threadId, argument - UNKNOWN_BLOCK, address, -1);
            break;
          }
          blockBase += cursor.zigzag();
          const block = blocks.ordinalOf(blockBase);
          sink.free(threadId, argument, blocks.release(blockBase), block);
          break;
        }
        case RecordCode.Realloc: {
          blockBase += cursor.zigzag();
          const sizeBytes = newBlockSize();
          const stackId = stackBase + cursor.zigzag();
          stackBase = stackId;
          const oldBlock = blocks.ordinalOf(blockBase);
          const oldAddress = blocks.release(blockBase);
          const newAddress = newBlockAddress(sizeBytes);
          sink.realloc(threadId, oldAddress, newAddress, sizeBytes, stackId, oldBlock, blocks.create(newAddress, sizeBytes));
          break;
        }
        case RecordCode.Map: {
          const address = addressBase + cursor.zigzag();
          const lengthBytes = cursor.varint();
          const stackId = stackBase + cursor.zigzag();
          addressBase = address;
          stackBase = stackId;
          sink.map(threadId, argument, address, lengthBytes, stackId);
          break;
        }
        case RecordCode.Unmap: {
          const address = addressBase + cursor.zigzag();
          const lengthBytes = cursor.varint();
          addressBase = address;
          sink.unmap(threadId, argument, address, lengthBytes);
          break;
        }
        case RecordCode.Thread:
          if (argument === 0) {
            threadId = cursor.varint();
            threadSlot = threadSlots.length <= THREAD_SLOTS ? threadSlots.push(threadId) - 1 : 0;
          } else {
            if (argument >= threadSlots.length) throw new PayloadError(`thread slot ${argument} is not defined in this chunk (${threadSlots.length - 1} so far)`, -1);
            threadId = threadSlots[argument];
            threadSlot = argument;
          }
          sink.thread(threadId);
          break;
        case RecordCode.Time:
          sink.time(cursor.varint());
          break;
        case RecordCode.Rss:
          sink.rss(cursor.varint());
          break;
        case RecordCode.Stack: {
          const parentDistance = cursor.varint();
          const pc = pcBase + cursor.zigzag();
          pcBase = pc;
          sink.stack(parentDistance, pc);
          break;
        }
        case RecordCode.StackReset:
          sink.stackReset();
          break;
        case RecordCode.Code:
          if (argument === CodeSubtype.Add) sink.codeAdd(readCodeAdd(cursor));
          else if (argument === CodeSubtype.Move) sink.codeMove(cursor.varint(), cursor.varint());
          else throw new PayloadError(`unknown sub-type ${argument}`, -1);
          break;
        case RecordCode.String:
          sink.string(cursor.utf8(cursor.varint()));
          break;
        case RecordCode.Module:
          sink.module(readModule(cursor));
          break;
        case RecordCode.Symbol:
          sink.symbol(cursor.varint(), cursor.varint(), cursor.varint(), cursor.varint());
          break;
        case RecordCode.Meta:
          if (argument === MetaSubtype.KeyValue) sink.metaValue(cursor.varint(), cursor.varint());
          else if (argument === MetaSubtype.ThreadName) sink.threadName(cursor.varint(), cursor.varint());
          else throw new PayloadError(`unknown sub-type ${argument}`, -1);
          break;
        default:
          throw new PayloadError(
            code === 0 ? 'record code 0 (zeroed or corrupt data)' : `unknown record code ${code} (type byte 0x${typeByte.toString(16).padStart(2, '0')})`, -1);
      }
    } catch (error) {
      if (!(error instanceof PayloadError)) throw error;
      const name = RECORD_NAMES[code];
      throw new PayloadError(name === undefined ? error.message : `${name} record: ${error.message}`,
        error.position < 0 ? cursor.payloadPosition(recordStart) : error.position);
    }
    records++;
  }
  if (sections && resolveAddresses && !addresses.atEnd) {
    throw new PayloadError(`${addresses.bytes.length - addresses.position} bytes of the address section are left over: more addresses than new blocks`, addresses.position);
  }
  if (sections && !sizes.atEnd) {
    throw new PayloadError(`${sizes.bytes.length - sizes.position} bytes of the size section are left over: more sizes than new blocks`, sizes.position);
  }
  return records;
}

function readCodeAdd(cursor: PayloadCursor): CodeAdd {
  const start = cursor.varint();
  const sizeBytes = cursor.varint();
  const codeType = cursor.varint();
  const nameRef = cursor.varint();
  const scriptRef = cursor.varint();
  const line = cursor.varint();
  const column = cursor.varint();
  const positionCount = cursor.varint();
  const positions: CodePosition[] = [];
  let pcOffset = 0;
  for (let i = 0; i < positionCount; i++) {
    pcOffset += cursor.varint();
    positions.push({ pcOffset, line: cursor.varint(), column: cursor.varint() });
  }
  return { start, sizeBytes, codeType, nameRef, scriptRef, line, column, positions };
}

function readModule(cursor: PayloadCursor): ModuleRecord {
  const loadBias = cursor.varint();
  const pathRef = cursor.varint();
  const buildIdLength = cursor.varint();
  const buildIdStart = cursor.position;
  cursor.skip(buildIdLength);
  const buildId = cursor.bytes.slice(buildIdStart, buildIdStart + buildIdLength);
  const segmentCount = cursor.varint();
  const segments: ModuleRecord['segments'] = [];
  for (let i = 0; i < segmentCount; i++) {
    segments.push({ start: cursor.varint(), lengthBytes: cursor.varint() });
  }
  return { loadBias, pathRef, buildId, segments };
}
