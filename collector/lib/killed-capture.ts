// What the collector of a killed process could not write: names for the native frames of its
// stacks. The collector names native pcs once, when the capture ends (docs/capture-format.md,
// "Native symbols"); a process killed by SIGKILL or the OOM killer, or by a signal a non-node
// program leaves at its default, ends without them, and every native frame reads `node+0xc6853f`.
// On the machine the capture was made, the objects are still on disk: this names the pcs from
// them (checking each object's build id), and appends the SYMBOL records to the capture as a data
// chunk of its own, with the way the program ended when the caller knows it. The capture keeps
// its missing trailer: readers still say it was cut short, because the last events were lost.
import { createReadStream, readFileSync } from 'node:fs';
import { appendFile, stat, truncate } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { isAbsolute } from 'node:path';
import { endsWithTrailer, isAlive } from './capture-ending.js';
import { symbolsAddonPath } from './native-paths.js';
import { ByteStream } from './reader/byte-stream.js';
import { readCaptureHeader, readChunks, withChunkPosition } from './reader/chunk-reader.js';
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

/** The capture is still being written: appending to it would interleave with its writer. */
export class CaptureStillWrittenError extends Error {}

export interface SymbolsAddon {
  nameObjectPcs(path: string, buildId: Uint8Array, loadBias: number, pcs: number[]):
    { status: 'named' | 'unreadable' | 'other-build'; symbols: NamedPc[]; debugFile?: string | null };
  buildIdOf(path: string): Uint8Array;
}

/** The symbols addon (collector/src/addon/symbols_addon.cc). */
export function loadSymbolsAddon(): SymbolsAddon {
  return createRequire(import.meta.url)(symbolsAddonPath) as SymbolsAddon;
}

export interface NamingOptions {
  /** The signal the program died of, recorded when the capture does not say how it ended. */
  endReason?: string;
  /**
   * Brings an object's debug file where the symbols addon looks (debuginfod.ts); called for an
   * object whose pcs the files on this machine leave partly unnamed. True when it did.
   */
  fetchDebugFile?: (buildId: Uint8Array, objectPath: string) => Promise<boolean>;
  /**
   * Check every chunk of a complete capture (checksums, lengths) before calling it complete:
   * `memview symbolize` must not vouch for a file no reader takes. Off where memview just wrote
   * the capture itself (the ending of `memview run`), which would read a large file twice.
   */
  verifyComplete?: boolean;
}

/**
 * Names the native frames of the capture at `path` if its process died before it could, and
 * records `endReason` when the capture does not say how it ended. A capture with a trailer is
 * left as it is.
 */
export async function nameFramesOfKilledCapture(path: string, { endReason, fetchDebugFile, verifyComplete }: NamingOptions = {}): Promise<KilledCaptureOutcome> {
  const complete: KilledCaptureOutcome = { complete: true, nativePcs: 0, named: 0, objectsSkipped: [], cutBytes: 0 };
  const { size } = await stat(path);
  const stream = new ByteStream(createReadStream(path, { highWaterMark: 1 << 20 }));
  // First, so that a file of another format version (or none) is refused, trailer or not.
  const header = await readCaptureHeader(stream);
  if (endsWithTrailer(path)) {
    // Checked whole (checksums, lengths), not decoded.
    if (verifyComplete) for await (const chunk of readChunks(stream)) void chunk;
    return complete;
  }
  const census = new NativePcCensus();
  const blocks = new BlockCounter(header.formatVersion);
  let completeChunksEnd = HEADER_SIZE_BYTES;
  let writerChecked = false;
  for await (const chunk of readChunks(stream)) {
    if (chunk.kind === ChunkKind.Trailer) return complete;
    withChunkPosition(chunk, () => decodeRecords(chunk.payload, census, blocks, { addresses: false }));
    completeChunksEnd = stream.position;  // the generator is paused right after this chunk
    if (!writerChecked && census.writerPid !== undefined) {
      assertNotBeingWritten(path, census);  // the first chunk says who writes the capture
      writerChecked = true;
    }
  }
  if ((await stat(path)).size !== size) throw new CaptureStillWrittenError(`${path} grew while it was read: a process is still writing it`);

  const addon = loadSymbolsAddon();
  const chunks = new SymbolChunks(census.strings.length, census.events, header.formatVersion);
  const outcome: KilledCaptureOutcome = { complete: false, nativePcs: 0, named: 0, objectsSkipped: [], cutBytes: size - completeChunksEnd };
  for (const [module, pcs] of census.unnamedPcsByModule()) {
    outcome.nativePcs += pcs.length;
    const objectPath = census.strings[module.pathRef - 1] ?? '';
    // The collector records absolute paths; anything else would be looked up from here.
    const name = () => (isAbsolute(objectPath)
      ? addon.nameObjectPcs(objectPath, module.buildId, module.loadBias, pcs)
      : { status: 'unreadable' as const, symbols: [] });
    let answer = name();
    // Only for an object whose frames are largely unnamed (a stripped library) and that has no
    // debug file here yet: node's own symbol table names all but a few of its frames, and its
    // debug file is hundreds of MB.
    const unnamed = pcs.length - answer.symbols.length;
    if (fetchDebugFile && isAbsolute(objectPath) && module.buildId.length > 0 && !answer.debugFile &&
        unnamed * FETCH_WHEN_UNNAMED_ONE_IN > pcs.length && await fetchDebugFile(module.buildId, objectPath)) {
      answer = name();
    }
    if (answer.status !== 'named') {
      outcome.objectsSkipped.push({ path: objectPath, reason: answer.status });
      continue;
    }
    for (const symbol of answer.symbols) chunks.symbol(symbol);
    outcome.named += answer.symbols.length;
  }
  if (endReason !== undefined && !census.hasEndReason) chunks.meta('endReason', endReason);
  // Said once, so that readers stop pointing at `memview symbolize` (frames no symbol table names
  // stay unnamed for good).
  if (!census.hasFramesNamedAfterwards) chunks.meta('framesNamedAfterwards', '1');

  // A chunk the process was writing when it died is unreadable: the new chunks take its place.
  if (outcome.cutBytes > 0) await truncate(path, completeChunksEnd);
  for (const chunk of chunks.finish()) await appendFile(path, chunk);
  return outcome;
}

// A debug file is fetched for an object when more than one in this many of its pcs has no name.
const FETCH_WHEN_UNNAMED_ONE_IN = 4;

/**
 * Refuses a capture whose process is still alive: it is a truncated capture only in the sense that
 * its writer has not finished yet. A live process with the capture's pid that started after the
 * capture did is another process that got the pid again.
 */
function assertNotBeingWritten(path: string, census: NativePcCensus): void {
  const pid = census.writerPid!;
  if (!isAlive(pid)) return;
  const started = processStartUnixMs(pid);
  const captureStarted = census.startTimeUnixMs;
  if (started !== undefined && captureStarted !== undefined && started > captureStarted + PID_REUSE_SLACK_MS) return;
  throw new CaptureStillWrittenError(`${path} is still being written by process ${pid}; name its frames once that process has ended`);
}

// Clock granularity of /proc's start times (1/100 s) and of the capture's start, with room to spare.
const PID_REUSE_SLACK_MS = 2000;

/** When process `pid` started, from /proc (start time in clock ticks after boot; USER_HZ is 100). */
function processStartUnixMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const bootSeconds = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    return Number.isFinite(ticks) && Number.isFinite(bootSeconds) ? bootSeconds * 1000 + ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}

/** Collects, from every record of a capture, what naming its native pcs needs. */
class NativePcCensus implements RecordSink {
  readonly strings: string[] = [];
  events = 0;
  hasEndReason = false;
  hasFramesNamedAfterwards = false;
  /** The traced process (META pid) and when tracing started (META startTimeUnixMs). */
  writerPid: number | undefined;
  startTimeUnixMs: number | undefined;
  private readonly modules: ModuleRecord[] = [];
  private readonly moduleOfPc = new Map<number, number>();
  private readonly namedPcs = new Set<number>();
  /** pcs no object covered when their node was defined, since the last STACK_RESET. */
  private uncoveredPcs: number[] = [];

  alloc(): void { this.events++; }
  free(): void { this.events++; }
  realloc(): void { this.events++; }
  map(): void { this.events++; }
  unmap(): void { this.events++; }
  thread(): void {}
  time(): void {}
  rss(): void {}
  stackReset(): void {
    this.uncoveredPcs = [];
  }
  codeAdd(): void {}
  codeMove(): void {}
  threadName(): void {}

  string(text: string): void {
    this.strings.push(text);
  }

  module(module: ModuleRecord): void {
    this.modules.push(module);
    // A library's constructors allocate before its MODULE record: that record names their pcs.
    const index = this.modules.length - 1;
    this.uncoveredPcs = this.uncoveredPcs.filter((pc) => {
      if (!covers(module, pc)) return true;
      this.moduleOfPc.set(pc, index);
      return false;
    });
  }

  stack(_parentDistance: number, pc: number): void {
    if (this.moduleOfPc.has(pc)) return;
    // The object that held the pc when its node was defined: the latest one loaded over it.
    for (let index = this.modules.length - 1; index >= 0; index--) {
      if (covers(this.modules[index], pc)) {
        this.moduleOfPc.set(pc, index);
        return;
      }
    }
    this.moduleOfPc.set(pc, -1);  // JavaScript code, or memory no object covers (yet)
    this.uncoveredPcs.push(pc);
  }

  symbol(pc: number): void {
    this.namedPcs.add(pc);
  }

  metaValue(keyRef: number, valueRef: number): void {
    const key = this.strings[keyRef - 1];
    const value = this.strings[valueRef - 1];
    if (key === 'endReason') this.hasEndReason = true;
    else if (key === 'framesNamedAfterwards') this.hasFramesNamedAfterwards = true;
    else if (key === 'pid' && Number(value) > 0) this.writerPid = Number(value);
    else if (key === 'startTimeUnixMs' && Number(value) > 0) this.startTimeUnixMs = Number(value);
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

/** Whether a module's segments hold the call site of return address `pc`. */
function covers(module: ModuleRecord, pc: number): boolean {
  return module.segments.some(({ start, lengthBytes }) => pc - 1 >= start && pc - 1 < start + lengthBytes);
}
