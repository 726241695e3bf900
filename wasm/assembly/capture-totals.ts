// Whole-capture figures for CaptureStats: totals, high-water marks, allocator mix, size
// histogram. Scalars live in globals; the two tables in linear memory for the host to read.

export let totalAllocations: f64 = 0;
export let totalBytesAllocated: f64 = 0;
export let heapBytes: f64 = 0;
export let peakTrackedBytes: f64 = 0;
export let peakHeapBytes: f64 = 0;
export let peakTimeNs: u64 = 0;
export let peakRssBytes: f64 = 0;
export let lastTimeNs: u64 = 0;
export let eventCount: f64 = 0;

/** (count f64, bytes f64) per allocator kind 0..15. */
export let allocatorTable: usize = 0;
/** Count (f64) per size class: class 0 = 0 bytes, class k = [2^(k-1), 2^k - 1]. */
export let sizeHistogram: usize = 0;
export const SIZE_CLASSES: u32 = 65;

export function totalsInit(): void {
  totalAllocations = 0;
  totalBytesAllocated = 0;
  heapBytes = 0;
  peakTrackedBytes = 0;
  peakHeapBytes = 0;
  peakTimeNs = 0;
  peakRssBytes = 0;
  lastTimeNs = 0;
  eventCount = 0;
  allocatorTable = heap.alloc(16 * 16);
  memory.fill(allocatorTable, 0, 16 * 16);
  sizeHistogram = heap.alloc(<usize>SIZE_CLASSES * 8);
  memory.fill(sizeHistogram, 0, <usize>SIZE_CLASSES * 8);
}

@inline export function totalsCountAllocation(kind: u32, size: u64): void {
  totalAllocations += 1;
  const sizeBytes = <f64>size;
  totalBytesAllocated += sizeBytes;
  const entry = allocatorTable + (<usize>(kind & 15) << 4);
  store<f64>(entry, load<f64>(entry) + 1);
  store<f64>(entry, load<f64>(entry, 8) + sizeBytes, 8);
  const sizeClass = size == 0 ? 0 : 64 - <u32>clz(size);
  const bin = sizeHistogram + (<usize>sizeClass << 3);
  store<f64>(bin, load<f64>(bin) + 1);
}
