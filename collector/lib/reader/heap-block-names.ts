// Heap blocks are named by ordinal in the capture (docs/capture-format.md, "Heap blocks are named
// by ordinal"): this keeps the address of every live block by its ordinal, so that the record
// decoder can hand sinks the address a FREE or REALLOC releases. One instance reads one capture,
// chunk after chunk, in order; it holds only live blocks.
import { PayloadError } from './capture-error.js';

// A JavaScript Map holds at most 2^24 entries: the live blocks are spread over several.
const SHARD_COUNT = 64;

export class HeapBlockNames {
  private readonly addressByOrdinal = Array.from({ length: SHARD_COUNT }, () => new Map<number, number>());
  /** Blocks created so far (the next block's ordinal). */
  blockCount = 0;
  private chunkFirstBlock = 0;

  /** A new chunk: its chunk ordinals count from the next block. */
  beginChunk(): void {
    this.chunkFirstBlock = this.blockCount;
  }

  /** A new block at `address` (ALLOC or the new half of a REALLOC); returns its ordinal. */
  create(address: number): number {
    const ordinal = this.blockCount++;
    this.addressByOrdinal[ordinal % SHARD_COUNT].set(ordinal, address);
    return ordinal;
  }

  /** The ordinal of the block with chunk ordinal `chunkOrdinal`. */
  ordinalOf(chunkOrdinal: number): number {
    return this.chunkFirstBlock + chunkOrdinal;
  }

  /** Releases the block with chunk ordinal `chunkOrdinal`; returns its address. */
  release(chunkOrdinal: number): number {
    const ordinal = this.chunkFirstBlock + chunkOrdinal;
    const shard = ordinal >= 0 ? this.addressByOrdinal[ordinal % SHARD_COUNT] : undefined;
    const address = shard?.get(ordinal);
    if (address === undefined) {
      throw new PayloadError(ordinal >= 0 && ordinal < this.blockCount
        ? `names heap block ${ordinal}, which was already released`
        : `names heap block ${ordinal}, but only ${this.blockCount} blocks exist`, -1);
    }
    shard!.delete(ordinal);
    return address;
  }
}
