// Allocation sizes in power-of-two bins: bin 0 holds size 0, bin k ≥ 1 holds [2^(k-1), 2^k - 1].
import type { CaptureStats } from '../../../viewer/model/types.js';

export class SizeHistogram {
  private readonly counts: number[] = [];

  add(sizeBytes: number): void {
    const bin = sizeBytes === 0 ? 0 : Math.floor(Math.log2(sizeBytes)) + 1;
    // log2 of a double can round up just below a power of two; correct by one step if so.
    const exactBin = bin > 0 && 2 ** (bin - 1) > sizeBytes ? bin - 1 : bin;
    this.counts[exactBin] = (this.counts[exactBin] ?? 0) + 1;
  }

  /** Every bin from the smallest to the largest non-empty one, empty bins between included. */
  bins(): CaptureStats['sizeHistogram'] {
    const first = this.counts.findIndex((count) => count !== undefined);
    if (first < 0) return [];
    const result: CaptureStats['sizeHistogram'] = [];
    for (let bin = first; bin < this.counts.length; bin++) {
      result.push({
        minBytes: bin === 0 ? 0 : 2 ** (bin - 1),
        maxBytes: bin === 0 ? 0 : 2 ** bin - 1,
        count: this.counts[bin] ?? 0,
      });
    }
    return result;
  }
}
