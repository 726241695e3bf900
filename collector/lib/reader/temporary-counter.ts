// Decides which heap blocks are *temporary*: freed on the thread that allocated them before that
// thread made `threshold` further heap allocations (threshold 1: freed before the thread's next
// allocation). Only heap allocations (ALLOC, REALLOC) count, as candidates and as "further
// allocations"; a MAP is neither.
import type { HeapBlock } from './live-heap.js';

export class TemporaryCounter {
  private readonly heapAllocationsByThread = new Map<number, number>();

  constructor(readonly threshold: number) {}

  /** Counts a new heap allocation on `threadId`; returns its index for `isTemporary`. */
  nextAllocationIndex(threadId: number): number {
    const index = (this.heapAllocationsByThread.get(threadId) ?? 0) + 1;
    this.heapAllocationsByThread.set(threadId, index);
    return index;
  }

  isTemporary(block: HeapBlock, freeingThreadId: number): boolean {
    if (block.threadId !== freeingThreadId) return false;
    const laterAllocations = (this.heapAllocationsByThread.get(block.threadId) ?? 0) - block.threadAllocationIndex;
    return laterAllocations < this.threshold;
  }
}
