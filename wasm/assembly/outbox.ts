// Dictionary records for the host, in file order. The engine aggregates events itself but leaves
// naming (strings, code objects, modules, symbols → frames → call tree) to the host, which feeds
// the outbox to the reference reader's own record decoder and frame resolver, so both readers
// name frames identically. The outbox is therefore itself a valid record stream:
// - CODE, STRING, MODULE, SYMBOL, META are copied verbatim (they have no delta bases);
// - STACK and STACK_RESET are re-encoded against the outbox's own delta bases;
// - THREAD announces a thread the first time it is seen (and sets the thread of what follows);
// - an ALLOC of size 0 announces a new *site*: the (thread, stack id) pair that the engine's
//   per-site figures refer to, in the order sites appear. The outbox has no address or size
//   section (docs/capture-format.md, "Chunk"): these ALLOCs have no address, and their size is
//   written among their fields.
// Delta bases restart whenever the host drains the outbox, as they do at a chunk start.

export let outboxStart: usize = 0;
export let outboxLength: usize = 0;
let outboxCapacity: usize = 0;
let pcBase: u64 = 0;
let stackBase: u64 = 0;
let threadOfOutbox: u64 = 0;

export function outboxInit(): void {
  outboxCapacity = 1 << 16;
  outboxStart = heap.alloc(outboxCapacity);
  outboxClear();
}

export function outboxClear(): void {
  outboxLength = 0;
  pcBase = 0;
  stackBase = 0;
  threadOfOutbox = 0;
}

function reserve(bytes: usize): void {
  if (outboxLength + bytes <= outboxCapacity) return;
  let capacity = outboxCapacity * 2;
  while (capacity < outboxLength + bytes) capacity *= 2;
  outboxStart = heap.realloc(outboxStart, capacity);
  outboxCapacity = capacity;
}

@inline function writeByte(value: u32): void {
  store<u8>(outboxStart + outboxLength, <u8>value);
  outboxLength++;
}

function writeVarint(value: u64): void {
  let at = outboxStart + outboxLength;
  while (value >= 0x80) {
    store<u8>(at, <u8>(value | 0x80));
    value >>>= 7;
    at++;
  }
  store<u8>(at, <u8>value);
  outboxLength = at + 1 - outboxStart;
}

@inline function writeZigzag(difference: u64): void {
  writeVarint((difference << 1) ^ <u64>(<i64>difference >> 63));
}

export function outboxCopy(from: usize, length: usize): void {
  reserve(length);
  memory.copy(outboxStart + outboxLength, from, length);
  outboxLength += length;
}

export function outboxStackNode(parentDistance: u64, pc: u64): void {
  reserve(21);
  writeByte(9);
  writeVarint(parentDistance);
  writeZigzag(pc - pcBase);
  pcBase = pc;
}

export function outboxStackReset(): void {
  reserve(1);
  writeByte(10);
}

export function outboxThread(tid: u64): void {
  reserve(11);
  writeByte(6);
  writeVarint(tid);
  threadOfOutbox = tid;
}

export function outboxSite(tid: u64, fileStackId: u64): void {
  if (tid != threadOfOutbox) outboxThread(tid);
  reserve(12);
  writeByte(0x11); // ALLOC, kind malloc
  writeByte(0); // size 0
  writeZigzag(fileStackId - stackBase);
  stackBase = fileStackId;
}
