// Accessible mapped pages (docs/capture-format.md, "Mapped memory"). A MAP may later be unmapped
// in parts, in the middle, or together with neighbouring MAPs, so the ranges are split as they are
// cut; every piece remembers the MAP it came from, and a MAP stops counting as a live allocation
// when its last byte is gone.
import { IntervalMap } from './interval-map.js';

interface Mapping {
  node: number; // call-tree node of the MAP's stack
  remainingBytes: number;
}

export interface UnmappedPiece {
  node: number;
  bytes: number;
  /** True when this removed the last bytes of its MAP. */
  mappingGone: boolean;
}

export class LiveMappings {
  private readonly pieces = new IntervalMap<Mapping>();
  liveMappingCount = 0;

  map(address: number, lengthBytes: number, node: number): void {
    this.pieces.insert(address, address + lengthBytes, { node, remainingBytes: lengthBytes });
    this.liveMappingCount++;
  }

  /** Removes [address, address + length) from whatever MAPs cover it; returns what was removed. */
  unmap(address: number, lengthBytes: number): UnmappedPiece[] {
    const end = address + lengthBytes;
    const removed: UnmappedPiece[] = [];
    for (const piece of this.pieces.removeOverlapping(address, end)) {
      if (piece.start < address) this.pieces.insert(piece.start, address, piece.value);
      if (piece.end > end) this.pieces.insert(end, piece.end, piece.value);
      const bytes = Math.min(piece.end, end) - Math.max(piece.start, address);
      piece.value.remainingBytes -= bytes;
      const mappingGone = piece.value.remainingBytes <= 0;
      if (mappingGone) this.liveMappingCount--;
      removed.push({ node: piece.value.node, bytes, mappingGone });
    }
    return removed;
  }
}
