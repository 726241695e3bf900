// Heap blocks stored by ordinal in pages of PAGE_BLOCKS consecutive ordinals. The collector numbers
// blocks in allocation order (docs/capture-format.md, "Heap blocks are named by ordinal"), so a new
// block always goes to the next record of the newest page: no hashing, no probing, and the writes
// stream through memory instead of missing the cache once per allocation. A free finds its record
// by arithmetic. A page is given up when its blocks are gone (or, through live-blocks.ts, when
// only a few survivors are left), so the pages follow the young part of the live set.
//
// The directory is a ring of DIRECTORY_SIZE entries (u32 page address, u32 live blocks in it)
// covering pages frontPage..openPage; every page below frontPage has been given up.

import { RECORD_SIZE, RECORD_THREAD } from "./live-record";

export const PAGE_SHIFT: u32 = 10;
export const PAGE_BLOCKS: u32 = 1 << PAGE_SHIFT;
export const PAGE_BYTES: usize = <usize>PAGE_BLOCKS * RECORD_SIZE;
export const DIRECTORY_SIZE: u64 = 1 << 16;
const DIRECTORY_MASK: usize = <usize>DIRECTORY_SIZE - 1;
const ENTRY_LIVE: usize = 4;

let directory: usize = 0;
/** Oldest page still held; every page below it has been given up. */
export let frontPage: u64 = 0;
/** The page new blocks go to. */
export let openPage: u64 = 0;
export let pagesHeld: u32 = 0;
/** Live blocks in all held pages. */
export let pageBlockCount: u32 = 0;
/** Pages given up, kept for reuse as a list linked through their first word. */
let sparePages: usize = 0;

export function blockPagesInit(): void {
  if (directory == 0) directory = heap.alloc(<usize>DIRECTORY_SIZE << 3);
  else {
    for (let page = frontPage; page <= openPage; page++) {
      const address = pageAddress(page);
      if (address != 0) heap.free(address);
    }
  }
  while (sparePages != 0) {
    const next = <usize>load<u32>(sparePages);
    heap.free(sparePages);
    sparePages = next;
  }
  memory.fill(directory, 0, <usize>DIRECTORY_SIZE << 3);
  frontPage = 0;
  openPage = 0;
  pagesHeld = 0;
  pageBlockCount = 0;
}

@inline export function directoryEntry(page: u64): usize {
  return directory + ((<usize>page & DIRECTORY_MASK) << 3);
}

/** The address of held page `page` (frontPage <= page <= openPage), or 0 when it was given up. */
@inline export function pageAddress(page: u64): usize {
  return <usize>load<u32>(directoryEntry(page));
}

/**
 * The address of page `page` (at most openPage) when it is held, else 0: a page below frontPage
 * was given up, though its ring entry may now belong to another. Without a branch, so that the
 * touch-ahead loop can use it too.
 */
@inline export function heldPageAddress(page: u64): usize {
  return select<usize>(pageAddress(page), 0, page >= frontPage);
}

@inline export function pageLiveBlocks(page: u64): u32 {
  return load<u32>(directoryEntry(page), ENTRY_LIVE);
}

@inline export function pageRecord(address: usize, ordinal: u64): usize {
  return address + <usize>(<u32>ordinal & (PAGE_BLOCKS - 1)) * RECORD_SIZE;
}

/** Counts a new block in open page `page`. */
@inline export function pageCountBlock(page: u64): void {
  const entry = directoryEntry(page);
  store<u32>(entry, load<u32>(entry, ENTRY_LIVE) + 1, ENTRY_LIVE);
  pageBlockCount++;
}

/** Uncounts a freed block in held page `page` (its record already marked free); returns how many remain. */
@inline export function pageUncountBlock(page: u64): u32 {
  const entry = directoryEntry(page);
  const left = load<u32>(entry, ENTRY_LIVE) - 1;
  store<u32>(entry, left, ENTRY_LIVE);
  pageBlockCount--;
  return left;
}

/**
 * Makes `page` (openPage + 1, or 0 for the first) the open page, with every record free. The
 * caller keeps the window within DIRECTORY_SIZE pages first.
 */
export function pageOpen(page: u64): void {
  let address = sparePages;
  if (address != 0) sparePages = <usize>load<u32>(address);
  else address = heap.alloc(PAGE_BYTES);
  memory.fill(address, 0, PAGE_BYTES);
  const entry = directoryEntry(page);
  store<u32>(entry, <u32>address);
  store<u32>(entry, 0, ENTRY_LIVE);
  openPage = page;
  pagesHeld++;
  advanceFront();
}

/** Gives up held page `page`; its remaining live blocks (if any) must have been moved out. */
export function pageRelease(page: u64): void {
  const entry = directoryEntry(page);
  const address = <usize>load<u32>(entry);
  pageBlockCount -= load<u32>(entry, ENTRY_LIVE);
  store<u64>(entry, 0);
  store<u32>(address, <u32>sparePages);
  sparePages = address;
  pagesHeld--;
  advanceFront();
}

function advanceFront(): void {
  while (frontPage < openPage && pageAddress(frontPage) == 0) frontPage++;
}

/** Whether the record in a held page holds a live block (a free record has RECORD_THREAD 0). */
@inline export function recordIsLive(record: usize): bool {
  return load<u32>(record, RECORD_THREAD) != 0;
}
