// Receives the engine's outbox (a record stream of dictionaries and site announcements, see
// wasm/assembly/outbox.ts) through the reference reader's own record decoder, and names things
// exactly as the reference reader does: its FrameResolver turns pcs into frames when each stack
// node is defined, its CallTreeBuilder maps each announced site (thread, stack id) to a call-tree
// node. The engine's per-site figures are later summed into those nodes.
import { CallTreeBuilder } from '../../collector/lib/reader/call-tree-builder.js';
import { FrameResolver } from '../../collector/lib/reader/frame-resolver.js';
import type { CodeAdd, ModuleRecord, RecordSink } from '../../collector/lib/reader/record-decoder.js';

export class DictionarySink implements RecordSink {
  readonly frameResolver = new FrameResolver();
  readonly callTree = new CallTreeBuilder(this.frameResolver);
  /** Provisional call-tree node of each engine site, by site index. */
  readonly siteNodes: number[] = [];
  readonly metaValues = new Map<string, string>();
  readonly threadNames = new Map<number, string>();
  /** Thread ids in order of first appearance (THREAD record, thread name, or first allocation). */
  readonly threadOrder = new Set<number>();

  // A site announcement is written as an ALLOC of size 0 at address 0 (wasm/assembly/outbox.ts).
  alloc(threadId: number, _kind: number, _address: number, _sizeBytes: number, stackId: number): void {
    this.threadOrder.add(threadId);
    this.siteNodes.push(this.callTree.nodeOf(stackId, threadId));
  }

  thread(threadId: number): void {
    this.threadOrder.add(threadId);
  }

  stack(parentDistance: number, pc: number): void {
    this.callTree.defineStack(parentDistance, pc);
  }

  stackReset(): void {
    this.callTree.resetStacks();
  }

  codeAdd(code: CodeAdd): void {
    this.frameResolver.addCode(code);
  }

  codeMove(from: number, to: number): void {
    this.frameResolver.moveCode(from, to);
  }

  string(text: string): void {
    this.frameResolver.captureStrings.add(text);
  }

  module(module: ModuleRecord): void {
    this.frameResolver.addModule(module);
  }

  symbol(pc: number, functionRef: number, fileRef: number, line: number): void {
    this.frameResolver.addSymbol(pc, functionRef, fileRef, line);
  }

  metaValue(keyRef: number, valueRef: number): void {
    const strings = this.frameResolver.captureStrings;
    this.metaValues.set(strings.get(keyRef), strings.get(valueRef));
  }

  threadName(threadId: number, nameRef: number): void {
    this.threadNames.set(threadId, this.frameResolver.captureStrings.get(nameRef));
    this.threadOrder.add(threadId);
  }

  // Events never reach the outbox: the engine applies them itself.
  free(): void {
    throw new Error('decoder outbox holds a FREE record');
  }

  realloc(): void {
    throw new Error('decoder outbox holds a REALLOC record');
  }

  map(): void {
    throw new Error('decoder outbox holds a MAP record');
  }

  unmap(): void {
    throw new Error('decoder outbox holds an UNMAP record');
  }

  time(): void {
    throw new Error('decoder outbox holds a TIME record');
  }

  rss(): void {
    throw new Error('decoder outbox holds an RSS record');
  }
}
