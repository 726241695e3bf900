// What the decoder keeps for one live heap block: 24 bytes, the same layout in a block page
// (block-pages.ts) and in the old-block table (old-block-table.ts), so accounting code reads a
// record without knowing where it is kept.

export const RECORD_SIZE: usize = 24;
export const RECORD_SIZE_BYTES: usize = 0; // u64 bytes
export const RECORD_SITE: usize = 8; // u32 site index (thread + stack)
/** u32 allocating thread index + 1; 0 marks a free record in a page. */
export const RECORD_THREAD: usize = 12;
export const RECORD_THREAD_SEQUENCE: usize = 16; // u32 allocation number on that thread
export const RECORD_TIME_MS: usize = 20; // u32 ms since start when allocated

/** Adds the block in `record` to per-site (bytes, count) f64 pairs when it was made in buckets [first, last]. */
@inline export function recordAddIfAllocatedIn(record: usize, first: u32, last: u32, widthShift: u32, output: usize): void {
  const bucket = load<u32>(record, RECORD_TIME_MS) >>> widthShift;
  if (bucket < first || bucket > last) return;
  const at = output + (<usize>load<u32>(record, RECORD_SITE) << 4);
  store<f64>(at, load<f64>(at) + <f64>load<u64>(record, RECORD_SIZE_BYTES));
  store<f64>(at, load<f64>(at, 8) + 1, 8);
}
