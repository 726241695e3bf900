// What the collector of a killed process could not write: names for the native frames of its
// stacks. The collector names native pcs once, when the capture ends (docs/capture-format.md,
// "Native symbols"); a process killed by SIGKILL or the OOM killer, or by a signal a non-node
// program leaves at its default, ends without them, and every native frame reads `node+0xc6853f`.
// On the machine the capture was made, the objects are still on disk: this names the pcs from
// them (checking each object's build id), and appends the SYMBOL records to the capture as a data
// chunk of its own, with the way the program ended when the caller knows it. The capture keeps
// its missing trailer: readers still say it was cut short, because the last events were lost.
import { createReadStream } from 'node:fs';
import { appendFile, stat, truncate } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { symbolsAddonPath } from './native-paths.js';
import { ByteStream } from './reader/byte-stream.js';
import { readCaptureHeader, readChunks } from './reader/chunk-reader.js';
import { ChunkKind, HEADER_SIZE_BYTES } from './reader/format.js';
import { BlockCounter } from './reader/block-counter.js';
import { decodeRecords, type ModuleRecord, type RecordSink } from './reader/record-decoder.js';
import { SymbolChunks, type NamedPc } from './symbol-chunks.js';

export interface KilledCaptureOutcome {
  /** The capture has its trailer: its collector finished it, nothing was changed. */
  complete: boolean;
  /** Native pcs of the capture's stacks that had no name. */
  nativePcs: number;
  /** How many of them got a function name or a source line. */
  named: number;
  /** Objects whose pcs stay unnamed: the file is gone or unreadable, or it is another build now. */
  objectsSkipped: { path: string; reason: 'unreadable' | 'other-build' }[];
  /** Bytes of a chunk cut short at the end of the file (the process died writing it), removed. */
  cutBytes: number;
}

interface SymbolsAddon {
  nameObjectPcs(path: string, buildId: Uint8Array, loadBias: number, pcs: number[]):
    { status: 'named' | 'unreadable' | 'other-build'; symbols: NamedPc[] };
}

/**
 * Names the native frames of the capture at `path` if its process died before it could, and
 * records `endReason` (a signal's name) when the capture does not say how it ended. A capture
 * with a trailer is left as it is.
 */
export async function nameFramesOfKilledCapture(path: string, { endReason }: { endReason?: string } = {}): Promise<KilledCaptureOutcome> {
  const { size } = await stat(path);
  const stream = new ByteStream(createReadStream(path, { highWaterMark: 1 << 20 }));
  await readCaptureHeader(stream);
  const census = new NativePcCensus();
  const blocks = new BlockCounter();
  let completeChunksEnd = HEADER_SIZE_BYTES;
  for await (const chunk of readChunks(stream)) {
    if (chunk.kind === ChunkKind.Trailer) {
      return { complete: true, nativePcs: 0, named: 0, objectsSkipped: [], cutBytes: 0 };
    }
    decodeRecords(chunk.payload, census, blocks, { addresses: false });
    completeChunksEnd = stream.position;  // the generator is paused right after this chunk
  }

  const addon = createRequire(import.meta.url)(symbolsAddonPath) as SymbolsAddon;
  const chunks = new SymbolChunks(census.strings.length, census.events);
  const outcome: KilledCaptureOutcome = { complete: false, nativePcs: 0, named: 0, objectsSkipped: [], cutBytes: size - completeChunksEnd };
  for (const [module, pcs] of census.unnamedPcsByModule()) {
    outcome.nativePcs += pcs.length;
    const objectPath = census.strings[module.pathRef - 1] ?? '';
    const answer = addon.nameObjectPcs(objectPath, module.buildId, module.loadBias, pcs);
    if (answer.status !== 'named') {
      outcome.objectsSkipped.push({ path: objectPath, reason: answer.status });
      continue;
    }
    for (const symbol of answer.symbols) chunks.symbol(symbol);
    outcome.named += answer.symbols.length;
  }
  if (endReason !== undefined && !census.hasEndReason) chunks.meta('endReason', endReason);

  // A chunk the process was writing when it died is unreadable: the new chunks take its place.
  if (outcome.cutBytes > 0) await truncate(path, completeChunksEnd);
  for (const chunk of chunks.finish()) await appendFile(path, chunk);
  return outcome;
}

/** Collects, from every record of a capture, what naming its native pcs needs. */
class NativePcCensus implements RecordSink {
  readonly strings: string[] = [];
  events = 0;
  hasEndReason = false;
  private readonly modules: ModuleRecord[] = [];
  private readonly moduleOfPc = new Map<number, number>();
  private readonly namedPcs = new Set<number>();

  alloc(): void { this.events++; }
  free(): void { this.events++; }
  realloc(): void { this.events++; }
  map(): void { this.events++; }
  unmap(): void { this.events++; }
  thread(): void {}
  time(): void {}
  rss(): void {}
  stackReset(): void {}
  codeAdd(): void {}
  codeMove(): void {}
  threadName(): void {}

  string(text: string): void {
    this.strings.push(text);
  }

  module(module: ModuleRecord): void {
    this.modules.push(module);
  }

  stack(_parentDistance: number, pc: number): void {
    if (this.moduleOfPc.has(pc)) return;
    // The object that held the pc when its node was defined: the latest one loaded over it.
    for (let index = this.modules.length - 1; index >= 0; index--) {
      if (this.modules[index].segments.some(({ start, lengthBytes }) => pc - 1 >= start && pc - 1 < start + lengthBytes)) {
        this.moduleOfPc.set(pc, index);
        return;
      }
    }
    this.moduleOfPc.set(pc, -1);  // JavaScript code, or memory no object covers
  }

  symbol(pc: number): void {
    this.namedPcs.add(pc);
  }

  metaValue(keyRef: number): void {
    if (this.strings[keyRef - 1] === 'endReason') this.hasEndReason = true;
  }

  unnamedPcsByModule(): Map<ModuleRecord, number[]> {
    const byModule = new Map<ModuleRecord, number[]>();
    for (const [pc, index] of this.moduleOfPc) {
      if (index < 0 || this.namedPcs.has(pc)) continue;
      const module = this.modules[index];
      const pcs = byModule.get(module);
      if (pcs) pcs.push(pc);
      else byModule.set(module, [pc]);
    }
    return byModule;
  }
}
