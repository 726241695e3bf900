// Where each live heap block's record is kept: young blocks in block pages (block-pages.ts), found
// by arithmetic on their ordinal; survivors of retired pages in the old-block table
// (old-block-table.ts). A page that is closed (no longer receiving blocks) is retired when only
// RETIRE_AT of its blocks are left: its survivors move to the table and the page is reused. So
// pages hold at least 1/8 live records, and most blocks, which die young, are never hashed.
// This is the structure whose size follows the profiled program's live set.

import {
  blockPagesInit, DIRECTORY_SIZE, frontPage, heldPageAddress, openPage, pageAddress, pageBlockCount, pageCountBlock, pageLiveBlocks, pageOpen,
  pageRecord, pageRelease, pagesHeld, pageUncountBlock, PAGE_BLOCKS, PAGE_BYTES, PAGE_SHIFT, recordIsLive,
} from "./block-pages";
import {
  oldBlockAdd, oldBlockCount, oldBlockFind, oldBlockRemove, oldBlocksAddAllocatedIn, oldBlocksBytes, oldBlocksInit, oldBlocksMakeRoom,
  oldBlockHome,
} from "./old-block-table";
import { recordAddIfAllocatedIn, RECORD_SIZE, RECORD_THREAD } from "./live-record";

const RETIRE_AT: u32 = PAGE_BLOCKS / 8;
// 384 MiB of pages; beyond it the oldest page is retired whatever it holds.
const MAX_PAGES: u32 = 16384;
// The limits in force: smaller ones only in tests, which reach these paths with small captures.
let pageLimit: u32 = MAX_PAGES;
let windowLimit: u64 = DIRECTORY_SIZE;

/**
 * Sets how many pages may be held and how many pages the directory window may span (each at most
 * its default; 0 restores it). For tests: the defaults take millions of blocks to reach.
 */
export function liveBlockLimits(pages: u32, window: u32): void {
  pageLimit = pages == 0 || pages > MAX_PAGES ? MAX_PAGES : pages;
  windowLimit = window == 0 || <u64>window > DIRECTORY_SIZE ? DIRECTORY_SIZE : <u64>window;
}

export function liveBlocksInit(): void {
  blockPagesInit();
  oldBlocksInit(10);
}

export function liveBlockCount(): u32 {
  return pageBlockCount + oldBlockCount;
}

/** Bytes of records the next events may touch: what decides whether they can miss the cache. */
export function liveBlocksBytes(): usize {
  return <usize>pagesHeld * PAGE_BYTES + oldBlocksBytes();
}

/** The record of block `ordinal` (below the block count), or 0 when it is not live. */
@inline export function liveBlockFind(ordinal: u64): usize {
  const address = heldPageAddress(ordinal >> PAGE_SHIFT);
  if (address != 0) {
    const record = pageRecord(address, ordinal);
    return recordIsLive(record) ? record : 0;
  }
  return oldBlockFind(ordinal);
}

/**
 * Where block `ordinal`'s record would be (its page record, or its home slot in the old-block
 * table), worked out while a batch is decoded so that touching the records before applying it is
 * a bare load per free: the fewer instructions between the loads, the more of their misses the
 * core keeps in flight at once. Without branches: a mispredicted branch would cancel the loads
 * issued after it. A block not live yet (allocated earlier in the same batch) gives a harmless
 * address.
 */
@inline export function liveBlockTouchTarget(ordinal: u64): usize {
  const address = heldPageAddress(ordinal >> PAGE_SHIFT);
  return select<usize>(pageRecord(address, ordinal), oldBlockHome(ordinal), address != 0);
}

/** Loads a record found by liveBlockTouchTarget: both ends, since a 24-byte record can straddle two cache lines. */
@inline export function liveBlockTouch(target: usize): u64 {
  return <u64>load<u32>(target) + <u64>load<u32>(target, RECORD_SIZE - 4);
}

/**
 * The (free) record for new block `ordinal`, the next in allocation order, or 0 when the live set
 * no longer fits. The caller fills it, RECORD_THREAD last and never 0.
 */
@inline export function liveBlockCreate(ordinal: u64): usize {
  const page = ordinal >> PAGE_SHIFT;
  if ((<u32>ordinal & (PAGE_BLOCKS - 1)) == 0 && !openNextPage(page)) return 0;
  pageCountBlock(page);
  return pageRecord(pageAddress(page), ordinal);
}

/** Forgets block `ordinal`, whose record (from liveBlockFind) is at `record`. */
@inline export function liveBlockRemove(record: usize, ordinal: u64): void {
  const page = ordinal >> PAGE_SHIFT;
  if (heldPageAddress(page) != 0) {
    store<u32>(record, 0, RECORD_THREAD);
    const left = pageUncountBlock(page);
    if ((left == RETIRE_AT || left == 0) && page != openPage) retirePage(page);
    return;
  }
  oldBlockRemove(record);
}

function openNextPage(page: u64): bool {
  if (page != 0 && pageAddress(openPage) != 0 && pageLiveBlocks(openPage) <= RETIRE_AT) {
    // Closing the page that filled up: most of its blocks are already gone.
    retirePage(openPage);
  }
  while (page - frontPage >= windowLimit || pagesHeld >= pageLimit) {
    if (pagesHeld == 0 || !retirePage(frontPage)) return false;
  }
  pageOpen(page);
  return true;
}

/** Moves held page `page`'s live blocks to the old-block table and gives the page up; false when they do not fit. */
function retirePage(page: u64): bool {
  const left = pageLiveBlocks(page);
  if (left != 0) {
    if (!oldBlocksMakeRoom(left)) return false;
    const address = pageAddress(page);
    const firstOrdinal = page << PAGE_SHIFT;
    for (let i: u32 = 0; i < PAGE_BLOCKS; i++) {
      const record = address + <usize>i * RECORD_SIZE;
      if (recordIsLive(record)) oldBlockAdd(firstOrdinal + i, record);
    }
  }
  pageRelease(page);
  return true;
}

/** Adds each live block allocated in buckets [first, last] to per-site (bytes, count) f64 pairs. */
export function liveBlocksAddAllocatedIn(first: u32, last: u32, widthShift: u32, output: usize): void {
  if (pagesHeld != 0) {
    for (let page = frontPage; page <= openPage; page++) {
      const address = pageAddress(page);
      if (address == 0) continue;
      for (let i: u32 = 0; i < PAGE_BLOCKS; i++) {
        const record = address + <usize>i * RECORD_SIZE;
        if (recordIsLive(record)) recordAddIfAllocatedIn(record, first, last, widthShift, output);
      }
    }
  }
  oldBlocksAddAllocatedIn(first, last, widthShift, output);
}
