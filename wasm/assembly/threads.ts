// Threads by kernel tid → dense thread index, with the per-thread counters the accumulators need:
// how many allocations each thread made (ThreadInfo.allocations: heap and MAP), and how many heap
// allocations (the clock that decides whether a free is "temporary"; MAPs do not tick it).

import { U64Index } from "./u64-index";
import { outboxThread } from "./outbox";

const THREAD_RECORD_SIZE: usize = 32;
const THREAD_ALLOCATIONS: usize = 0; // f64
const THREAD_HEAP_SEQUENCE: usize = 8; // u32, wraps; only differences are used
const THREAD_ANNOUNCED: usize = 12; // u32 1 once the host has been told
const THREAD_TID: usize = 16; // u64

export let threadRecords: usize = 0;
export let threadCount: u32 = 0;
let threadCapacity: u32 = 0;
let threadIndexByTid: U64Index | null = null;

export function threadsInit(): void {
  threadCapacity = 64;
  threadRecords = heap.alloc(<usize>threadCapacity * THREAD_RECORD_SIZE);
  threadCount = 0;
  threadIndexByTid = new U64Index(6);
}

@inline function threadRecord(thread: u32): usize {
  return threadRecords + (<usize>thread << 5);
}

/**
 * The index of thread `tid`, created on first sight. A THREAD record `announce`s the thread to
 * the host at once; a thread only implied (events before the chunk's first THREAD record) is
 * announced with its first site instead, which is when the reference reader first counts it.
 */
export function threadIndexOf(tid: u64, announce: bool): u32 {
  const index = threadIndexByTid!;
  const known = index.get(tid);
  if (known >= 0) {
    if (announce && load<u32>(threadRecord(<u32>known), THREAD_ANNOUNCED) == 0) {
      store<u32>(threadRecord(<u32>known), 1, THREAD_ANNOUNCED);
      outboxThread(tid);
    }
    return <u32>known;
  }
  const thread = threadCount;
  if (threadCount == threadCapacity) {
    threadCapacity *= 2;
    threadRecords = heap.realloc(threadRecords, <usize>threadCapacity * THREAD_RECORD_SIZE);
  }
  const record = threadRecord(thread);
  memory.fill(record, 0, THREAD_RECORD_SIZE);
  store<u64>(record, tid, THREAD_TID);
  threadCount++;
  index.insert(tid, thread);
  if (announce) {
    store<u32>(record, 1, THREAD_ANNOUNCED);
    outboxThread(tid);
  }
  return thread;
}

@inline export function threadCountAllocation(thread: u32): void {
  const record = threadRecord(thread);
  store<f64>(record, load<f64>(record, THREAD_ALLOCATIONS) + 1, THREAD_ALLOCATIONS);
}

/** Counts one heap allocation on thread and returns its sequence number. */
@inline export function threadNextHeapSequence(thread: u32): u32 {
  const record = threadRecord(thread);
  const sequence = load<u32>(record, THREAD_HEAP_SEQUENCE) + 1;
  store<u32>(record, sequence, THREAD_HEAP_SEQUENCE);
  return sequence;
}

@inline export function threadHeapSequence(thread: u32): u32 {
  return load<u32>(threadRecord(thread), THREAD_HEAP_SEQUENCE);
}

export function threadAllocations(thread: u32): f64 {
  return load<f64>(threadRecord(thread), THREAD_ALLOCATIONS);
}

export function threadTid(thread: u32): u64 {
  return load<u64>(threadRecord(thread), THREAD_TID);
}
