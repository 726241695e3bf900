// The wasm engine's exports, typed, and how to instantiate it from the module's bytes (the Node
// host reads wasm/build/decoder.wasm from disk, the browser worker gets it from the bundler).
// Pointers come back from wasm as signed i32: above 2 GiB they are negative, hence `>>> 0`.

export interface DecoderExports {
  memory: WebAssembly.Memory;
  init(temporaryThreshold: number): void;
  setFormatVersion(version: number): void;
  inputBuffer(bytes: number): number;
  beginChunk(codec: number, storedSize: number, rawSize: number, checksum: number): number;
  checkStored(storedSize: number, checksum: number): number;
  beginUnpackedChunk(rawSize: number): number;
  unpackInput(codec: number, storedSize: number, rawSize: number, checksum: number): number;
  step(budgetBytes: number): number;
  errorOffset(): number;
  errorType(): number;
  outboxPointer(): number;
  outboxSize(): number;
  outboxReset(): void;
  finish(): void;
  sitesPointer(): number;
  sitesCount(): number;
  threadsCount(): number;
  threadAllocationCount(thread: number): number;
  threadId(thread: number): number;
  stackNodeCount(): number;
  stringsCount(): number;
  timelinePointer(): number;
  timelineCount(): number;
  allocatorTablePointer(): number;
  sizeHistogramPointer(): number;
  totalAllocations(): number;
  totalBytesAllocated(): number;
  peakTrackedBytes(): number;
  peakHeapBytes(): number;
  peakTimeMs(): number;
  peakRssBytes(): number;
  lastTimeNs(): number;
  liveHeapBytes(): number;
  liveHeapCount(): number;
  /** Test hook: caps the block pages held and the pages the directory spans (0: the default). */
  liveBlockLimits(pages: number, window: number): void;
  liveMappedBytes(): number;
  liveMappings(): number;
  eventCount(): number;
  lz4DecompressInput(storedSize: number, rawCapacity: number): number;
  inflateInput(storedSize: number, rawCapacity: number): number;
  rawPointer(): number;
  rangeOutboxPointer(): number;
  rangeOutboxSize(): number;
  rangeOutboxReset(): void;
  rangeBucketWidthShift(): number;
  rangeLeaks(first: number, last: number): number;
  leakBucketShift(): number;
}

/** Thrown when the engine aborts: in practice, when wasm memory (4 GiB at most) is exhausted. */
export class EngineAbort extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineAbort';
  }
}

export async function instantiateDecoder(wasmBytes: BufferSource | WebAssembly.Module): Promise<DecoderExports> {
  let memory: WebAssembly.Memory | undefined;
  const imports = {
    env: {
      abort(messagePointer: number, filePointer: number, line: number, column: number): never {
        const text = memory ? readAssemblyScriptString(memory, messagePointer >>> 0) : '';
        const file = memory ? readAssemblyScriptString(memory, filePointer >>> 0) : '';
        throw new EngineAbort(`decoder engine aborted: ${text || 'unknown reason'} (${file}:${line}:${column})`);
      },
    },
  };
  const instance = wasmBytes instanceof WebAssembly.Module
    ? await WebAssembly.instantiate(wasmBytes, imports)
    : (await WebAssembly.instantiate(wasmBytes, imports)).instance;
  const exports = instance.exports as unknown as DecoderExports;
  memory = exports.memory;
  return exports;
}

/** An AssemblyScript string: UTF-16 code units, byte length stored just before the pointer. */
function readAssemblyScriptString(memory: WebAssembly.Memory, pointer: number): string {
  if (pointer < 4 || pointer >= memory.buffer.byteLength) return '';
  const byteLength = new Uint32Array(memory.buffer, pointer - 4, 1)[0];
  if (pointer + byteLength > memory.buffer.byteLength) return '';
  return String.fromCharCode(...new Uint16Array(memory.buffer, pointer, byteLength >>> 1));
}
