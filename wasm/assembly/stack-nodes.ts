// Stack ids in the file restart at 1 after every STACK_RESET, but live allocations keep pointing
// at the old nodes, so the engine keys its sites by a global node id (0 = the empty stack) that
// never restarts. This file maps the current file ids to global ids; the nodes themselves
// (parent, pc) go to the host through the outbox, which resolves their frames.

import { outboxStackNode, outboxStackReset } from "./outbox";

let globalOfFileId: usize = 0; // u32 per file id; index 0 = the empty stack → global 0
// Per file id: the thread index (i32, -1 none) and site last used with it. Most events reuse the
// pair, which saves the (thread, node) → site hash lookup.
let siteCache: usize = 0;
let fileIdCapacity: u32 = 0;
/** Stack ids defined since the last reset: valid ids are 0..fileStackCount. */
export let fileStackCount: u32 = 0;
export let globalStackCount: u32 = 1;

export function stackNodesInit(): void {
  fileIdCapacity = 4096;
  globalOfFileId = heap.alloc(<usize>fileIdCapacity * 4);
  store<u32>(globalOfFileId, 0);
  siteCache = heap.alloc(<usize>fileIdCapacity * 8);
  store<i32>(siteCache, -1);
  fileStackCount = 0;
  globalStackCount = 1;
}

/** The global node of a file stack id; the caller checked fileId <= fileStackCount. */
@inline export function globalStackOf(fileId: u32): u32 {
  return load<u32>(globalOfFileId + (<usize>fileId << 2));
}

/** Defines the next file node, `parentDistance` ids after its parent, with one pc. */
export function stackNodeDefine(parentDistance: u32, pc: u64): void {
  const fileId = fileStackCount + 1;
  if (fileId >= fileIdCapacity) {
    fileIdCapacity *= 2;
    globalOfFileId = heap.realloc(globalOfFileId, <usize>fileIdCapacity * 4);
    siteCache = heap.realloc(siteCache, <usize>fileIdCapacity * 8);
  }
  store<i32>(siteCache + (<usize>fileId << 3), -1);
  store<u32>(globalOfFileId + (<usize>fileId << 2), globalStackCount);
  fileStackCount = fileId;
  globalStackCount++;
  outboxStackNode(parentDistance, pc);
}

export function stackNodesReset(): void {
  fileStackCount = 0;
  outboxStackReset();
}

@inline export function siteCacheEntry(fileId: u32): usize {
  return siteCache + (<usize>fileId << 3);
}
