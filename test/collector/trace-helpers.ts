// Helpers for collector tests: run a script under `memview run` and read back both the raw events
// (to find an exact address and size) and the aggregated model (to check what a user sees).
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, createReadStream, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readCaptureFile } from '../../collector/lib/reader/index.js';
import { ByteStream } from '../../collector/lib/reader/byte-stream.js';
import { readCaptureHeader, readChunks } from '../../collector/lib/reader/chunk-reader.js';
import { ChunkKind } from '../../collector/lib/reader/format.js';
import { HeapBlockNames } from '../../collector/lib/reader/heap-block-names.js';
import { decodeRecords, type RecordSink } from '../../collector/lib/reader/record-decoder.js';
import { FrameKind, type CaptureModel } from '../../viewer/model/types.js';

export const repositoryRoot = resolve(__dirname, '..', '..');
// The `memview` command as npm installs it: a shell script that runs `memview run` through the
// native launcher when it is built and every other command through bin/memview.cjs.
export const cliPath = join(repositoryRoot, 'bin', 'memview');
export const testAddonPath = join(repositoryRoot, 'collector', 'build', 'Release', 'memview_test_allocators.node');

/** The environment every traced test program gets: no CA bundle parsing noise at start-up. */
export function cleanEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const environment = { ...process.env };
  delete environment.NODE_EXTRA_CA_CERTS;
  delete environment.NODE_OPTIONS;
  delete environment.LD_PRELOAD;
  delete environment.MEMVIEW_ROOT_PID;
  return { ...environment, ...extra };  // a test's own NODE_OPTIONS (a preload of the program) stays
}

export function scratchDirectory(): string {
  return mkdtempSync(join(tmpdir(), 'memview-test-'));
}

export interface TracedRun {
  status: number | null;
  stdout: string;
  stderr: string;
  capturePath: string;
  directory: string;
}

/** Writes `source` to a script file and runs it under `memview run`. */
export function traceScript(
  source: string,
  options: { runArguments?: string[]; scriptArguments?: string[]; extension?: string; environment?: Record<string, string> } = {},
): TracedRun {
  const directory = scratchDirectory();
  const scriptPath = join(directory, `program${options.extension ?? '.cjs'}`);
  writeFileSync(scriptPath, source);
  const capturePath = join(directory, 'capture.bin');
  const result = spawnSync(
    cliPath,
    ['run', '-o', capturePath, ...(options.runArguments ?? []), scriptPath, ...(options.scriptArguments ?? [])],
    { encoding: 'utf8', env: cleanEnvironment({ MEMVIEW_TEST_ADDON: testAddonPath, ...options.environment }), timeout: 60_000 },
  );
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, capturePath, directory };
}

export interface TracedEvent {
  type: 'alloc' | 'free' | 'realloc' | 'map' | 'unmap';
  kind: number;
  threadId: number;
  address: number;
  oldAddress?: number;
  size: number;
  stackId: number;
  /** An allocation the capture wrote as taking the address of a freed block (format version 3). */
  reusedAddress?: boolean;
  /** ... by the freed block's rank among the latest freed blocks of its size class (format version 6). */
  byRank?: boolean;
  /** An allocation the capture wrote as following an earlier block's chunk (format version 5). */
  followsBlock?: boolean;
}

/** Every allocation-type event of a capture, in order. */
/** Notes which new blocks the capture wrote as reusing a freed block's address, or as following one. */
class ReuseWatchingBlocks extends HeapBlockNames {
  readonly reusing = new Set<number>();
  readonly following = new Set<number>();
  readonly ranked = new Set<number>();
  override rankedAddress(rank: number, sizeBytes: number): number {
    this.reusing.add(this.blockCount);
    this.ranked.add(this.blockCount);
    return super.rankedAddress(rank, sizeBytes);
  }
  override reusedAddress(delta: number, sizeBytes: number): number {
    this.reusing.add(this.blockCount); // the ordinal the new block is about to get
    return super.reusedAddress(delta, sizeBytes);
  }
  override followingAddress(back: number): number {
    this.following.add(this.blockCount);
    return super.followingAddress(back);
  }
}

export async function readEvents(path: string): Promise<{ events: TracedEvent[]; threadNames: Map<number, string> }> {
  const events: TracedEvent[] = [];
  const strings: string[] = [''];
  const threadNames = new Map<number, string>();
  const sink: RecordSink = {
    alloc: (threadId, kind, address, size, stackId, block) => {
      events.push({ type: 'alloc', kind, threadId, address, size, stackId, reusedAddress: blocks.reusing.has(block), byRank: blocks.ranked.has(block), followsBlock: blocks.following.has(block) });
    },
    free: (threadId, kind, address) => { events.push({ type: 'free', kind, threadId, address, size: 0, stackId: 0 }); },
    realloc: (threadId, oldAddress, address, size, stackId, oldBlock, block) => {
      events.push({ type: 'realloc', kind: 3, threadId, address, oldAddress, size, stackId, reusedAddress: blocks.reusing.has(block), byRank: blocks.ranked.has(block), followsBlock: blocks.following.has(block) });
    },
    map: (threadId, kind, address, size, stackId) => { events.push({ type: 'map', kind, threadId, address, size, stackId }); },
    unmap: (threadId, kind, address, size) => { events.push({ type: 'unmap', kind, threadId, address, size, stackId: 0 }); },
    thread: () => {}, time: () => {}, rss: () => {}, stack: () => {}, stackReset: () => {},
    codeAdd: () => {}, codeMove: () => {}, module: () => {}, symbol: () => {}, metaValue: () => {},
    string: (text) => { strings.push(text); },
    threadName: (threadId, nameRef) => { threadNames.set(threadId, strings[nameRef]); },
  };
  const stream = new ByteStream(createReadStream(path));
  const header = await readCaptureHeader(stream);
  const blocks = new ReuseWatchingBlocks(header.formatVersion);
  for await (const chunk of readChunks(stream)) {
    if (chunk.kind !== ChunkKind.Trailer) decodeRecords(chunk.payload, sink, blocks);
  }
  return { events, threadNames };
}

/** The names of the code objects a capture's CODE add records name, in file order. */
export async function readCodeNames(path: string): Promise<string[]> {
  const strings: string[] = [''];
  const names: string[] = [];
  const ignore = () => {};
  const sink: RecordSink = {
    alloc: ignore, free: ignore, realloc: ignore, map: ignore, unmap: ignore, thread: ignore, time: ignore, rss: ignore,
    stack: ignore, stackReset: ignore, codeMove: ignore, module: ignore, symbol: ignore, metaValue: ignore, threadName: ignore,
    codeAdd: (code) => { names.push(strings[code.nameRef]); },
    string: (text) => { strings.push(text); },
  };
  const stream = new ByteStream(createReadStream(path));
  await readCaptureHeader(stream);
  const blocks = new HeapBlockNames();
  for await (const chunk of readChunks(stream)) {
    if (chunk.kind !== ChunkKind.Trailer) decodeRecords(chunk.payload, sink, blocks);
  }
  return names;
}

export function readModel(path: string, temporaryThreshold = 1): Promise<CaptureModel> {
  return readCaptureFile(path, { temporaryThreshold });
}

/** Names of the frames from the root to `node` (thread node first). */
export function pathOf(model: CaptureModel, node: number): string[] {
  const names: string[] = [];
  for (let current = node; current > 0; current = model.tree.parent[current]) {
    names.push(model.strings[model.frames.functionName[model.tree.frame[current]]]);
  }
  return names.reverse();
}

/**
 * Allocations made on the threads whose root frame (`thread N (name)`) matches `thread`, and how
 * many of them have an "[unknown 0x…]" frame on their stack, with a few such stacks as examples.
 */
export function unknownFramesOnThreads(model: CaptureModel, thread: RegExp): { allocations: number; withUnknown: number; examples: string[] } {
  let allocations = 0;
  let withUnknown = 0;
  const examples: string[] = [];
  for (let node = 1; node < model.tree.count; node++) {
    const count = model.views.allocated.count[node];
    if (count === 0) continue;
    const path = pathOf(model, node);
    if (!thread.test(path[0])) continue;
    allocations += count;
    if (!path.some((name) => name.startsWith('[unknown '))) continue;
    withUnknown += count;
    if (examples.length < 5) examples.push(path.join(' > '));
  }
  return { allocations, withUnknown, examples };
}

/** Bytes of a view summed over the call-tree nodes whose path contains every given function. */
export function bytesUnder(model: CaptureModel, view: keyof CaptureModel['views'], ...functions: string[]): number {
  let total = 0;
  const metrics = model.views[view];
  for (let node = 1; node < model.tree.count; node++) {
    if (metrics.bytes[node] === 0) continue;
    const path = pathOf(model, node);
    if (functions.every((name) => path.includes(name))) total += metrics.bytes[node];
  }
  return total;
}

/** The call-tree node that allocated exactly `sizeBytes` (there must be one, and only one). */
export function nodeAllocating(model: CaptureModel, sizeBytes: number): number {
  const nodes: number[] = [];
  for (let node = 1; node < model.tree.count; node++) {
    if (model.views.allocated.bytes[node] === sizeBytes) nodes.push(node);
  }
  if (nodes.length !== 1) throw new Error(`${nodes.length} call-tree nodes allocated exactly ${sizeBytes} bytes`);
  return nodes[0];
}

/** The 1-based column of `text` on 1-based line `line` of a script given as its lines. */
export function columnOf(lines: string[], line: number, text: string): number {
  return lines[line - 1].indexOf(text) + 1;
}

/**
 * "function:line:column" of the JavaScript frames of the call-tree node that allocated exactly
 * `sizeBytes` (the only one), innermost first, without node's own frames.
 */
export function javaScriptCallSites(model: CaptureModel, sizeBytes: number): string[] {
  const sites: string[] = [];
  for (let node = nodeAllocating(model, sizeBytes); node > 0; node = model.tree.parent[node]) {
    const frame = model.frames.kind[model.tree.frame[node]] === FrameKind.UserJs ? model.tree.frame[node] : -1;
    if (frame < 0) continue;
    sites.push(`${model.strings[model.frames.functionName[frame]]}:${model.frames.line[frame]}:${model.frames.column[frame]}`);
  }
  return sites;
}

export const hex = (address: number) => `0x${address.toString(16)}`;

/** A stripped copy of the test addon, and a debug directory holding its debug file. */
export function strippedAddonWithDebugFile({ compressed }: { compressed?: 'zlib' | 'zstd' } = {}): { addon: string; debugDirectory: string } {
  const directory = scratchDirectory();
  const addon = join(directory, 'stripped.node');
  const debugFile = join(directory, 'stripped.debug');
  execFileSync('objcopy', ['--only-keep-debug', ...(compressed ? [`--compress-debug-sections=${compressed}`] : []), testAddonPath, debugFile]);
  copyFileSync(testAddonPath, addon);
  execFileSync('strip', ['--strip-all', addon]);  // keeps .dynsym and the build-id note
  const note = execFileSync('readelf', ['-n', addon], { encoding: 'utf8' });
  const buildId = /Build ID: ([0-9a-f]+)/.exec(note)![1];
  const debugDirectory = join(directory, 'debug');
  mkdirSync(join(debugDirectory, '.build-id', buildId.slice(0, 2)), { recursive: true });
  copyFileSync(debugFile, join(debugDirectory, '.build-id', buildId.slice(0, 2), `${buildId.slice(2)}.debug`));
  return { addon, debugDirectory };
}

/** The pid of the process `parent` started (the traced program), or 0 before it exists. */
export function childPidOf(parent: number): number {
  try {
    const children = readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8').trim();
    return children === '' ? 0 : Number(children.split(/\s+/)[0]);
  } catch {
    return 0;
  }
}

/** Polls `condition` every 20 ms, for up to 20 s. */
export async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the traced program');
    await new Promise((settle) => setTimeout(settle, 20));
  }
}
