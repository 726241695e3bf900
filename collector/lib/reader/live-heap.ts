// Heap blocks (malloc family and operator new) still allocated, by address.

export interface HeapBlock {
  sizeBytes: number;
  node: number; // call-tree node of the allocation's stack
  threadId: number;
  /** Position of this allocation among its thread's heap allocations (see temporary-counter.ts). */
  threadAllocationIndex: number;
}

// A JavaScript Map holds at most 2^24 entries; a big program can have more live blocks than that,
// so the blocks are spread over several maps by address (blocks are at least 16-byte aligned).
const SHARD_COUNT = 64;
const ALIGNMENT_BYTES = 16;

export class LiveHeap {
  private readonly shards = Array.from({ length: SHARD_COUNT }, () => new Map<number, HeapBlock>());
  liveBlockCount = 0;

  add(address: number, block: HeapBlock): void {
    const shard = this.shardOf(address);
    if (!shard.has(address)) this.liveBlockCount++;
    shard.set(address, block);
  }

  /** Removes and returns the block at `address`; undefined for addresses never seen allocated. */
  remove(address: number): HeapBlock | undefined {
    const shard = this.shardOf(address);
    const block = shard.get(address);
    if (block !== undefined) {
      shard.delete(address);
      this.liveBlockCount--;
    }
    return block;
  }

  private shardOf(address: number): Map<number, HeapBlock> {
    // Corrupt deltas can make an address negative: keep the shard index in range anyway.
    const shard = Math.floor(address / ALIGNMENT_BYTES) % SHARD_COUNT;
    return this.shards[shard < 0 ? shard + SHARD_COUNT : shard];
  }
}
