// A fast writer of synthetic captures for the decoder benchmarks: records go straight into a
// byte buffer (no per-event objects), chunks are closed at ~1 MiB like the collector's, stored
// uncompressed (the LZ4 figure is measured on its own). Follows docs/capture-format.md.

const CHUNK_RAW_BYTES = 1 << 20;
const SLACK = 64;

/** The capture format version this writer follows (docs/capture-format.md). */
export const FORMAT_VERSION = 6;
// "Addresses of new blocks": how far back a reused block may be, and the size classes.
const REUSE_WINDOW = 4194304;
const SIZE_CLASS_COUNT = 4098;
const sizeClass = (size) => (size < 65536 ? Math.floor((size + 8) / 16) : SIZE_CLASS_COUNT - 1);

/** Writes `value` as a varint into `bytes` at `at`; returns where it ends. */
function writeVarint(bytes, at, value) {
  while (value >= 128) {
    bytes[at++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  bytes[at++] = value;
  return at;
}

export function fnv1a32(bytes) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193);
  return hash >>> 0;
}

export class CaptureWriter {
  constructor(onChunk) {
    this.onChunk = onChunk; // receives each finished chunk (header + payload) as a Uint8Array
    this.buffer = new Uint8Array(CHUNK_RAW_BYTES + SLACK);
    this.length = 0;
    // The chunk's address section (new blocks' addresses), ahead of the records in the payload.
    this.addresses = new Uint8Array(CHUNK_RAW_BYTES + SLACK);
    this.addressesLength = 0;
    // The chunk's size section (new blocks' sizes), after the address section.
    this.sizes = new Uint8Array(CHUNK_RAW_BYTES + SLACK);
    this.sizesLength = 0;
    this.addressBase = 0;
    this.stackBase = 0;
    this.pcBase = 0;
    this.blockBase = 0; // chunk ordinal of the last freed block
    this.blockCount = 0; // heap blocks created so far
    this.reuseBase = new Float64Array(SIZE_CLASS_COUNT); // per size class, chunk ordinal last reused
    this.chunkFirstBlock = 0;
    this.chunkFirstBlocks = [];
    this.thread = 1;
    this.events = 0;
    this.chunkOffsets = [];
    this.fileOffset = 16;
    this.lastTimeNs = 0;
    onChunk(fileHeader());
    this.beginChunk();
  }

  beginChunk() {
    this.addressBase = 0;
    this.stackBase = 0;
    this.pcBase = 0;
    this.blockBase = 0;
    this.reuseBase.fill(0);
    this.chunkFirstBlock = this.blockCount;
    this.record1(6, this.thread);
    this.record1(7, this.lastTimeNs);
  }

  varint(value) {
    this.length = writeVarint(this.buffer, this.length, value);
  }

  zigzag(value) {
    this.varint(value >= 0 ? value * 2 : -value * 2 - 1);
  }

  addressVarint(value) {
    this.addressesLength = writeVarint(this.addresses, this.addressesLength, value);
  }

  record1(code, value) {
    this.buffer[this.length++] = code;
    this.varint(value);
  }

  maybeEndChunk() {
    if (this.length >= CHUNK_RAW_BYTES - 64 || this.addressesLength >= CHUNK_RAW_BYTES - 64 || this.sizesLength >= CHUNK_RAW_BYTES - 64) {
      this.endChunk();
      this.beginChunk();
    }
  }

  /**
   * An ALLOC; returns the new block's ordinal, which its FREE names. `reusedOrdinal`, when given,
   * is the freed block whose address this one takes, and is written instead of the address.
   */
  alloc(address, size, stackId, reusedOrdinal = -1) {
    this.buffer[this.length++] = 0x11;
    if (reusedOrdinal >= 0 && this.blockCount - reusedOrdinal <= REUSE_WINDOW) {
      const sizeClassIndex = sizeClass(size);
      const chunkOrdinal = reusedOrdinal - this.chunkFirstBlock;
      const delta = chunkOrdinal - this.reuseBase[sizeClassIndex];
      this.reuseBase[sizeClassIndex] = chunkOrdinal;
      this.addressVarint((delta >= 0 ? delta * 2 : -delta * 2 - 1) * 4 + 1);  // the ordinal form (version 6: low bits 01)
    } else {
      // The one thread of these captures holds slot 1: its new addresses follow on from its last.
      const delta = address - this.addressBase;
      this.addressBase = address;
      this.addressVarint((delta >= 0 ? delta * 2 : -delta * 2 - 1) * 4);
    }
    this.sizesLength = writeVarint(this.sizes, this.sizesLength, size);
    this.zigzag(stackId - this.stackBase);
    this.stackBase = stackId;
    this.events++;
    const ordinal = this.blockCount++;
    this.maybeEndChunk();
    return ordinal;
  }

  /** A FREE of the live block `ordinal`. */
  free(ordinal) {
    this.buffer[this.length++] = 0x12;
    const chunkOrdinal = ordinal - this.chunkFirstBlock;
    this.zigzag(chunkOrdinal - this.blockBase);
    this.blockBase = chunkOrdinal;
    this.events++;
    this.maybeEndChunk();
  }

  time(timeNs, rssBytes) {
    this.lastTimeNs = timeNs;
    this.record1(7, timeNs);
    this.record1(8, rssBytes);
    this.maybeEndChunk();
  }

  /** Defines `count` stack nodes, each a child of a random earlier one; returns their ids 1..count. */
  stacks(count, random) {
    for (let id = 1; id <= count; id++) {
      const parent = id === 1 ? 0 : Math.floor(random() * id);
      this.buffer[this.length++] = 9;
      this.varint(id - parent);
      const pc = 0x400000 + Math.floor(random() * 0x100000);
      this.zigzag(pc - this.pcBase);
      this.pcBase = pc;
      this.maybeEndChunk();
    }
  }

  endChunk() {
    if (this.length === 0) return;
    const addressPrefix = new Uint8Array(10);
    const addressPrefixLength = writeVarint(addressPrefix, 0, this.addressesLength);
    const sizePrefix = new Uint8Array(10);
    const sizePrefixLength = writeVarint(sizePrefix, 0, this.sizesLength);
    // An empty schedule (version 6): the records in one stream, in order.
    const emptySchedule = new Uint8Array(1);
    const payload = new Uint8Array(addressPrefixLength + this.addressesLength + sizePrefixLength + this.sizesLength + 1 + this.length);
    let at = 0;
    for (const part of [addressPrefix.subarray(0, addressPrefixLength), this.addresses.subarray(0, this.addressesLength),
      sizePrefix.subarray(0, sizePrefixLength), this.sizes.subarray(0, this.sizesLength), emptySchedule, this.buffer.subarray(0, this.length)]) {
      payload.set(part, at);
      at += part.length;
    }
    this.addressesLength = 0;
    this.sizesLength = 0;
    const chunk = chunkBytes(1, payload);
    this.chunkOffsets.push(this.fileOffset);
    this.chunkFirstBlocks.push(this.chunkFirstBlock);
    this.fileOffset += chunk.length;
    this.onChunk(chunk);
    this.length = 0;
  }

  finish() {
    this.endChunk();
    const trailer = [];
    const push = (value) => { writeVarint(trailer, trailer.length, value); };
    push(this.chunkOffsets.length);
    this.chunkOffsets.forEach((offset, i) => {
      push(offset);
      push(0);
      push(this.chunkFirstBlocks[i]);
    });
    push(this.events);
    push(this.lastTimeNs);
    this.onChunk(chunkBytes(2, Uint8Array.from(trailer)));
  }
}

function fileHeader() {
  const header = new Uint8Array(16);
  header.set(new TextEncoder().encode('MEMVIEW'), 0);
  header[8] = FORMAT_VERSION;
  return header;
}

function chunkBytes(kind, payload) {
  const chunk = new Uint8Array(24 + payload.length);
  chunk.set([0x4d, 0x56, 0x43, 0x4b, kind, 0], 0);
  const view = new DataView(chunk.buffer);
  view.setUint32(8, payload.length, true);
  view.setUint32(12, payload.length, true);
  view.setUint32(16, fnv1a32(payload), true);
  chunk.set(payload, 24);
  return chunk;
}

/** xorshift-style PRNG returning [0, 1). */
export function seededRandom(seed) {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 4294967296;
  };
}

/**
 * Writes a workload: `live` addresses kept live (random or dense), then `pairs` free+alloc pairs
 * each replacing one random live block. A TIME+RSS sample every 8192 events.
 */
export function writeWorkload(writer, { live, pairs, randomAddresses, stackCount, seed }) {
  const random = seededRandom(seed);
  writer.stacks(stackCount, random);
  const addresses = new Float64Array(live);
  const ordinals = new Float64Array(live);
  const newAddress = (slot) => randomAddresses
    ? 0x100000000 + Math.floor(random() * 0x3fffffff) * 16 + Math.floor(random() * 0x4000) * 0x400000000
    : 0x100000000 + slot * 64;
  let timeNs = 0;
  for (let slot = 0; slot < live; slot++) {
    addresses[slot] = newAddress(slot);
    ordinals[slot] = writer.alloc(addresses[slot], 16 + (slot & 255), 1 + (slot % stackCount));
    if ((writer.events & 8191) === 0) writer.time((timeNs += 1e6), 1e8);
  }
  for (let i = 0; i < pairs; i++) {
    const slot = Math.floor(random() * live);
    writer.free(ordinals[slot]);
    // Dense: the allocator hands the freed block's address out again, and the writer says so.
    const reusedOrdinal = randomAddresses ? -1 : ordinals[slot];
    addresses[slot] = randomAddresses ? newAddress(slot) : addresses[slot];
    ordinals[slot] = writer.alloc(addresses[slot], 16 + (i & 1023), 1 + ((i * 7) % stackCount), reusedOrdinal);
    if ((writer.events & 8191) === 0) writer.time((timeNs += 1e6), 1e8);
  }
  writer.finish();
}
