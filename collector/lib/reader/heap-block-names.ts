// Heap blocks are named by ordinal in the capture (docs/capture-format.md, "Heap blocks are named
// by ordinal"): this keeps the address of every live block by its ordinal, so that the record
// decoder can hand sinks the address a FREE or REALLOC releases, and the addresses of the latest
// blocks, live or not, so that a new block written as a reference to the freed block whose memory
// it reuses ("Addresses of new blocks") gets its address. One instance reads one capture, chunk
// after chunk, in order.
import { PayloadError } from './capture-error.js';
import { FreedLists } from './freed-lists.js';
import { chunkFootprint, CURRENT_FORMAT_VERSION, REUSE_WINDOW, SIZE_CLASS_COUNT, sizeClass } from './format.js';

// A JavaScript Map holds at most 2^24 entries: the live blocks are spread over several.
const SHARD_COUNT = 64;
// The ring of recent addresses starts small and doubles up to the reuse window.
const INITIAL_RECENT = 1 << 16;

export class HeapBlockNames {
  private readonly addressByOrdinal = Array.from({ length: SHARD_COUNT }, () => new Map<number, number>());
  /** Address of block `ordinal` at `ordinal % length`, for the latest `length` blocks. */
  private recentAddresses = new Float64Array(INITIAL_RECENT);
  /** Where the allocator chunk of each of those blocks ends (address plus chunk footprint). */
  private recentEnds = new Float64Array(INITIAL_RECENT);
  /** Per size class, the chunk ordinal the latest reused address named; restarts with each chunk. */
  private readonly reuseBase = new Float64Array(SIZE_CLASS_COUNT);
  /** Blocks created so far (the next block's ordinal). */
  blockCount = 0;
  private chunkFirstBlock = 0;
  /** Per size class, the freed blocks newest first, for references by rank (version 6 and on). */
  private readonly freedLists: FreedLists | undefined;

  /** For a capture of format version `formatVersion` (the version decides how new blocks' addresses are written). */
  constructor(readonly formatVersion = CURRENT_FORMAT_VERSION) {
    this.freedLists = formatVersion >= 6 ? new FreedLists() : undefined;
  }

  /** A new chunk: its chunk ordinals count from the next block. */
  beginChunk(): void {
    this.chunkFirstBlock = this.blockCount;
    this.reuseBase.fill(0);
  }

  /** A new block of `sizeBytes` at `address` (ALLOC or the new half of a REALLOC); returns its ordinal. */
  create(address: number, sizeBytes: number): number {
    const ordinal = this.blockCount++;
    this.addressByOrdinal[ordinal % SHARD_COUNT].set(ordinal, address);
    if (ordinal >= this.recentAddresses.length && this.recentAddresses.length < REUSE_WINDOW) this.growRecent(ordinal);
    this.recentAddresses[ordinal % this.recentAddresses.length] = address;
    this.recentEnds[ordinal % this.recentEnds.length] = address + chunkFootprint(sizeBytes);
    this.freedLists?.created(ordinal, sizeClass(sizeBytes));
    return ordinal;
  }

  /**
   * The address of a new block written as following an earlier one: `back` blocks before the new
   * block (1 = the block just before it), whose allocator chunk ends where the new block starts.
   */
  followingAddress(back: number): number {
    const ordinal = this.blockCount - back;
    if (!(back >= 1 && back <= REUSE_WINDOW && ordinal >= 0)) {
      throw new PayloadError(`a new block follows heap block ${ordinal}, which is not among the last ${REUSE_WINDOW} of ${this.blockCount} blocks`, -1);
    }
    return this.recentEnds[ordinal % this.recentEnds.length];
  }

  /**
   * The address of a new block of `sizeBytes` written as a reuse: `delta` on the reuse base of its
   * size class names the freed block whose address it takes.
   */
  reusedAddress(delta: number, sizeBytes: number): number {
    const sizeClassIndex = sizeClass(sizeBytes);
    const chunkOrdinal = this.reuseBase[sizeClassIndex] + delta;
    this.reuseBase[sizeClassIndex] = chunkOrdinal;
    const ordinal = this.chunkFirstBlock + chunkOrdinal;
    if (!(ordinal >= 0 && ordinal < this.blockCount && this.blockCount - ordinal <= REUSE_WINDOW)) {
      throw new PayloadError(`a new block reuses the address of heap block ${ordinal}, which is not among the last ${REUSE_WINDOW} of ${this.blockCount} blocks`, -1);
    }
    if (this.addressByOrdinal[ordinal % SHARD_COUNT].has(ordinal)) {
      throw new PayloadError(`a new block reuses the address of heap block ${ordinal}, which is still live`, -1);
    }
    this.freedLists?.taken(ordinal);
    return this.recentAddresses[ordinal % this.recentAddresses.length];
  }

  /**
   * The address of a new block of `sizeBytes` written by rank (version 6): the freed block of rank
   * `rank` in its size class's list, newest first, gave it its memory.
   */
  rankedAddress(rank: number, sizeBytes: number): number {
    if (!this.freedLists) throw new PayloadError(`a new block names a freed block by rank, which format version ${this.formatVersion} does not have`, -1);
    const ordinal = this.freedLists.takeRanked(rank, sizeClass(sizeBytes), this.blockCount);
    if (this.blockCount - ordinal > REUSE_WINDOW) {
      throw new PayloadError(`a new block reuses the address of heap block ${ordinal}, which is not among the last ${REUSE_WINDOW} of ${this.blockCount} blocks`, -1);
    }
    return this.recentAddresses[ordinal % this.recentAddresses.length];
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
    this.freedLists?.freed(ordinal);
    return address;
  }

  /** Doubles the rings of recent addresses and ends, keeping the blocks before `ordinal` they hold. */
  private growRecent(ordinal: number): void {
    this.recentAddresses = grownRing(this.recentAddresses, ordinal);
    this.recentEnds = grownRing(this.recentEnds, ordinal);
  }
}

function grownRing(old: Float64Array<ArrayBuffer>, ordinal: number): Float64Array<ArrayBuffer> {
  const grown = new Float64Array(old.length * 2);
  for (let kept = Math.max(0, ordinal - old.length); kept < ordinal; kept++) grown[kept % grown.length] = old[kept % old.length];
  return grown;
}
