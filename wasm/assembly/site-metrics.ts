// Per-site accumulators, where a site is one (thread, stack node) pair: the unit the host maps to
// a call-tree leaf. One 64-byte record per site so an event touches one cache line.
//
// The peak snapshot is kept lazily so reaching a new high-water mark costs O(1), not O(sites):
// `peakEpoch` counts new high-water marks; the first time a site changes after the latest one,
// its value at that moment (= its value at the peak) is saved with the epoch. At the end a site
// saved in the latest epoch reports the saved value, any other site has not changed since the
// peak and reports its current value.

import { U64Index } from "./u64-index";
import { outboxSite } from "./outbox";
import { rangeBeforeChange, rangeSiteCreated } from "./range-buckets";

export const SITE_RECORD_SIZE: usize = 64;
export const SITE_LIVE_BYTES: usize = 0; // f64
export const SITE_LIVE_COUNT: usize = 8; // f64
export const SITE_ALLOCATED_BYTES: usize = 16; // f64
export const SITE_ALLOCATED_COUNT: usize = 24; // f64
export const SITE_TEMPORARY_BYTES: usize = 32; // f64
export const SITE_TEMPORARY_COUNT: usize = 40; // f64
export const SITE_PEAK_BYTES: usize = 48; // f64, valid when SITE_PEAK_EPOCH == peakEpoch
export const SITE_PEAK_COUNT: usize = 56; // u32
export const SITE_PEAK_EPOCH: usize = 60; // u32

export let siteRecords: usize = 0;
export let siteCount: u32 = 0;
let siteCapacity: u32 = 0;
let siteIndex: U64Index | null = null;
let lastSiteKey: u64 = 0xffffffffffffffff;
let lastSite: u32 = 0;

/** Number of high-water marks reached so far; 0 means tracked memory never rose above zero. */
export let peakEpoch: u32 = 0;

export function sitesInit(): void {
  siteCapacity = 1024;
  siteRecords = heap.alloc(<usize>siteCapacity * SITE_RECORD_SIZE);
  siteCount = 0;
  siteIndex = new U64Index(12);
  lastSiteKey = 0xffffffffffffffff;
  peakEpoch = 0;
}

@inline export function siteRecord(site: u32): usize {
  return siteRecords + (<usize>site << 6);
}

/**
 * The site of (thread, global stack node), created on first use and then announced to the host
 * as (tid, file stack id), which is how the host's call-tree builder names it.
 */
@inline export function siteFor(threadIndex: u32, stackNode: u32, tid: u64, fileStackId: u32): u32 {
  const key = (<u64>threadIndex << 32) | <u64>stackNode;
  if (key == lastSiteKey) return lastSite;
  return siteLookup(key, tid, fileStackId);
}

function siteLookup(key: u64, tid: u64, fileStackId: u32): u32 {
  const index = siteIndex!;
  let site = index.get(key);
  if (site < 0) {
    site = <i32>siteCount;
    if (siteCount == siteCapacity) {
      siteCapacity *= 2;
      siteRecords = heap.realloc(siteRecords, <usize>siteCapacity * SITE_RECORD_SIZE);
    }
    memory.fill(siteRecord(siteCount), 0, SITE_RECORD_SIZE);
    rangeSiteCreated(siteCount);
    siteCount++;
    index.insert(key, <u32>site);
    outboxSite(tid, fileStackId);
  }
  lastSiteKey = key;
  lastSite = <u32>site;
  return <u32>site;
}

/** Adds to a site's live bytes and count, saving its peak value first if this is its first change since the latest peak. */
@inline export function siteChangeLive(site: u32, bytes: f64, count: f64): void {
  const record = siteRecord(site);
  rangeBeforeChange(site, record);
  if (load<u32>(record, SITE_PEAK_EPOCH) != peakEpoch) {
    store<u32>(record, peakEpoch, SITE_PEAK_EPOCH);
    store<f64>(record, load<f64>(record, SITE_LIVE_BYTES), SITE_PEAK_BYTES);
    store<u32>(record, <u32>load<f64>(record, SITE_LIVE_COUNT), SITE_PEAK_COUNT);
  }
  store<f64>(record, load<f64>(record, SITE_LIVE_BYTES) + bytes, SITE_LIVE_BYTES);
  store<f64>(record, load<f64>(record, SITE_LIVE_COUNT) + count, SITE_LIVE_COUNT);
}

@inline export function siteAddAllocated(site: u32, bytes: f64): void {
  const record = siteRecord(site);
  store<f64>(record, load<f64>(record, SITE_ALLOCATED_BYTES) + bytes, SITE_ALLOCATED_BYTES);
  store<f64>(record, load<f64>(record, SITE_ALLOCATED_COUNT) + 1, SITE_ALLOCATED_COUNT);
}

@inline export function siteAddTemporary(site: u32, bytes: f64): void {
  const record = siteRecord(site);
  store<f64>(record, load<f64>(record, SITE_TEMPORARY_BYTES) + bytes, SITE_TEMPORARY_BYTES);
  store<f64>(record, load<f64>(record, SITE_TEMPORARY_COUNT) + 1, SITE_TEMPORARY_COUNT);
}

/** Tracked memory reached a new high-water mark: the current live values are the new snapshot. */
@inline export function sitesMarkPeak(): void {
  peakEpoch++;
}

/** Live bytes/count of a site at the high-water mark. */
export function sitePeakBytes(site: u32): f64 {
  if (peakEpoch == 0) return 0;
  const record = siteRecord(site);
  return load<u32>(record, SITE_PEAK_EPOCH) == peakEpoch ? load<f64>(record, SITE_PEAK_BYTES) : load<f64>(record, SITE_LIVE_BYTES);
}

export function sitePeakCount(site: u32): f64 {
  if (peakEpoch == 0) return 0;
  const record = siteRecord(site);
  return load<u32>(record, SITE_PEAK_EPOCH) == peakEpoch ? <f64>load<u32>(record, SITE_PEAK_COUNT) : load<f64>(record, SITE_LIVE_COUNT);
}
