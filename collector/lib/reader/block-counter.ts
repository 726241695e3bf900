// Heap blocks counted, not named: for a pass over a capture that needs no heap address (naming the
// native frames of a killed process's capture, killed-capture.ts). Keeping every live block's
// address, as HeapBlockNames does, was more than half the time of such a pass. Nothing is
// checked: a FREE of a block that does not exist goes unnoticed here.
import { CURRENT_FORMAT_VERSION } from './format.js';
import type { HeapBlockLedger } from './record-decoder.js';

export class BlockCounter implements HeapBlockLedger {
  private blockCount = 0;
  private chunkFirstBlock = 0;

  /** For a capture of format version `formatVersion` (the version decides how a chunk's records are laid out). */
  constructor(readonly formatVersion = CURRENT_FORMAT_VERSION) {}

  beginChunk(): void {
    this.chunkFirstBlock = this.blockCount;
  }

  create(): number {
    return this.blockCount++;
  }

  followingAddress(): number {
    return 0;
  }

  reusedAddress(): number {
    return 0;
  }

  rankedAddress(): number {
    return 0;
  }

  ordinalOf(chunkOrdinal: number): number {
    return this.chunkFirstBlock + chunkOrdinal;
  }

  release(): number {
    return 0;
  }
}
