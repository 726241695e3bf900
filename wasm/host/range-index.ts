// The host's half of the time-range answers (the engine's half is wasm/assembly/range-buckets.ts):
// for every time bucket, its high-water mark and the per-site live figures at that moment, kept
// as deltas from the previous bucket's snapshot. Halving merges neighbouring buckets the way the
// engine does: the merged bucket keeps the higher mark (the earlier on ties); changes of the
// losing later bucket are carried into the next kept bucket's delta so that replaying deltas
// 0..b always rebuilds bucket b's snapshot.

const RECORD_BUCKET = 1;
const RECORD_HALVE = 2;

interface BucketSnapshot {
  maxTrackedBytes: number;
  maxTimeMs: number;
  /** Sites whose figures changed since the previous kept bucket's snapshot, with their figures now. */
  sites: Uint32Array;
  bytes: Float64Array;
  counts: Float64Array;
}

type Delta = Map<number, [bytes: number, count: number]>;

export class RangeIndex {
  private buckets: (BucketSnapshot | undefined)[] = [];
  /** Changes after the last kept snapshot that the next stored bucket must include. */
  private carry: Delta | undefined;

  /** Reads the engine's range outbox records. */
  consume(records: DataView): void {
    let at = 0;
    while (at < records.byteLength) {
      const tag = records.getUint32(at, true);
      if (tag === RECORD_HALVE) {
        this.halve();
        at += 8;
        continue;
      }
      if (tag !== RECORD_BUCKET) throw new Error(`range outbox: unknown record ${tag}`);
      const index = records.getUint32(at + 4, true);
      const maxTrackedBytes = records.getFloat64(at + 8, true);
      const maxTimeMs = records.getFloat64(at + 16, true);
      const n = records.getUint32(at + 24, true);
      at += 32;
      const delta: Delta = this.carry ?? new Map();
      this.carry = undefined;
      for (let i = 0; i < n; i++, at += 16) {
        delta.set(records.getUint32(at, true), [records.getFloat64(at + 8, true), records.getUint32(at + 4, true)]);
      }
      this.buckets[index] = snapshotOf(maxTrackedBytes, maxTimeMs, delta);
    }
  }

  private halve(): void {
    const merged: (BucketSnapshot | undefined)[] = [];
    let carry: Delta | undefined = this.carry;
    for (let i = 0; i * 2 < this.buckets.length; i++) {
      const earlier = this.buckets[2 * i];
      const later = this.buckets[2 * i + 1];
      if (earlier === undefined && later === undefined) continue;
      const laterWins = later !== undefined && (earlier === undefined || later.maxTrackedBytes > earlier.maxTrackedBytes);
      const delta: Delta = carry ?? new Map();
      carry = undefined;
      if (earlier !== undefined) addInto(delta, earlier);
      if (laterWins) {
        addInto(delta, later!);
        merged[i] = snapshotOf(later!.maxTrackedBytes, later!.maxTimeMs, delta);
      } else {
        merged[i] = snapshotOf(earlier!.maxTrackedBytes, earlier!.maxTimeMs, delta);
        if (later !== undefined) carry = addInto(new Map(), later);
      }
    }
    this.buckets = merged;
    this.carry = carry;
  }

  /** The bucket in [first, last] with the highest mark (the earliest on ties), or -1. */
  peakBucket(first: number, last: number): number {
    let best = -1;
    for (let b = Math.max(0, first); b <= last && b < this.buckets.length; b++) {
      const bucket = this.buckets[b];
      if (bucket === undefined) continue;
      if (best < 0 || bucket.maxTrackedBytes > this.buckets[best]!.maxTrackedBytes) best = b;
    }
    if (best < 0) {
      // No sample inside the range: the state is that of the last bucket before it.
      for (let b = Math.min(first - 1, this.buckets.length - 1); b >= 0; b--) {
        if (this.buckets[b] !== undefined) return b;
      }
    }
    return best;
  }

  /** Per-site live bytes and counts at bucket b's high-water mark. */
  snapshot(bucket: number, siteCount: number): { bytes: Float64Array; counts: Float64Array } {
    const bytes = new Float64Array(siteCount);
    const counts = new Float64Array(siteCount);
    for (let b = 0; b <= bucket && b < this.buckets.length; b++) {
      const snapshot = this.buckets[b];
      if (snapshot === undefined) continue;
      for (let i = 0; i < snapshot.sites.length; i++) {
        bytes[snapshot.sites[i]] = snapshot.bytes[i];
        counts[snapshot.sites[i]] = snapshot.counts[i];
      }
    }
    return { bytes, counts };
  }
}

function snapshotOf(maxTrackedBytes: number, maxTimeMs: number, delta: Delta): BucketSnapshot {
  const sites = new Uint32Array(delta.size);
  const bytes = new Float64Array(delta.size);
  const counts = new Float64Array(delta.size);
  let i = 0;
  for (const [site, [siteBytes, siteCount]] of delta) {
    sites[i] = site;
    bytes[i] = siteBytes;
    counts[i] = siteCount;
    i++;
  }
  return { maxTrackedBytes, maxTimeMs, sites, bytes, counts };
}

function addInto(delta: Delta, snapshot: BucketSnapshot): Delta {
  for (let i = 0; i < snapshot.sites.length; i++) delta.set(snapshot.sites[i], [snapshot.bytes[i], snapshot.counts[i]]);
  return delta;
}
