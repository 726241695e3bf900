// Heap blocks (malloc family and operator new) still allocated, by address.

export interface HeapBlock {
  sizeBytes: number;
  node: number; // call-tree node of the allocation's stack
  threadId: number;
  /** Position of this allocation among its thread's heap allocations (see temporary-counter.ts). */
  threadAllocationIndex: number;
}

export class LiveHeap {
  private readonly blocksByAddress = new Map<number, HeapBlock>();

  get liveBlockCount(): number {
    return this.blocksByAddress.size;
  }

  add(address: number, block: HeapBlock): void {
    this.blocksByAddress.set(address, block);
  }

  /** Removes and returns the block at `address`; undefined for addresses never seen allocated. */
  remove(address: number): HeapBlock | undefined {
    const block = this.blocksByAddress.get(address);
    if (block !== undefined) this.blocksByAddress.delete(address);
    return block;
  }
}
