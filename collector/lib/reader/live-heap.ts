// Heap blocks (malloc family and operator new) still allocated, by block ordinal
// (docs/capture-format.md, "Heap blocks are named by ordinal").

export interface HeapBlock {
  sizeBytes: number;
  node: number; // call-tree node of the allocation's stack
  threadId: number;
  /** Position of this allocation among its thread's heap allocations (see temporary-counter.ts). */
  threadAllocationIndex: number;
}

// A JavaScript Map holds at most 2^24 entries; a big program can have more live blocks than that,
// so the blocks are spread over several maps by ordinal.
const SHARD_COUNT = 64;

export class LiveHeap {
  private readonly shards = Array.from({ length: SHARD_COUNT }, () => new Map<number, HeapBlock>());
  liveBlockCount = 0;

  add(ordinal: number, block: HeapBlock): void {
    const shard = this.shards[ordinal % SHARD_COUNT];
    if (!shard.has(ordinal)) this.liveBlockCount++;
    shard.set(ordinal, block);
  }

  /** Removes and returns block `ordinal`; undefined when it is not live. */
  remove(ordinal: number): HeapBlock | undefined {
    const shard = this.shards[ordinal % SHARD_COUNT];
    const block = shard.get(ordinal);
    if (block !== undefined) {
      shard.delete(ordinal);
      this.liveBlockCount--;
    }
    return block;
  }
}
