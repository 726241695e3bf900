// Receives the engine's outbox (a record stream of dictionaries and site announcements, see
// wasm/assembly/outbox.ts) through the reference reader's own record decoder, and names things
// exactly as the reference reader does: its FrameResolver turns pcs into frames when each stack
// node is defined, its CallTreeBuilder maps each announced site (thread, stack id) to a call-tree
// node. The engine's per-site figures are later summed into those nodes.
import { CaptureDictionaries } from '../../collector/lib/reader/capture-dictionaries.js';
import type { RecordSink } from '../../collector/lib/reader/record-decoder.js';

export class DictionarySink extends CaptureDictionaries implements RecordSink {
  /** Provisional call-tree node of each engine site, by site index. */
  readonly siteNodes: number[] = [];
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
