// Per size class, the freed heap blocks in the order they were freed, newest first: since format
// version 6 a new block may name the freed block whose memory it takes by its rank in its class's
// list (docs/capture-format.md, "Addresses of new blocks"). The collector keeps the same lists
// (collector/src/core/freed_lists.h) by the same rules, which are the format's:
// - a block has the slot `ordinal % FREED_LIST_WINDOW`, and loses it to the block created
//   FREED_LIST_WINDOW after it; a list entry whose slot another block has ends its list there;
// - a FREE or REALLOC of a block that still has its slot puts it on top of its class's list;
// - a block named by a reference (rank or ordinal) is taken and no longer counts.
// The slots grow with the capture up to the window, so a short capture keeps small arrays; no slot
// changes hands before the window is reached, so the growth is invisible to the rules.
import { PayloadError } from './capture-error.js';
import { FREED_LIST_WINDOW, SIZE_CLASS_COUNT } from './format.js';

const LIVE = 1;
const FREED = 2;
const TAKEN = 3;
const INITIAL_SLOTS = 1 << 12;

export class FreedLists {
  /** Per slot: ordinal + 1 of the block that has it (0 before any), the entry below it, its class, its state. */
  private owners = new Float64Array(INITIAL_SLOTS);
  private below = new Float64Array(INITIAL_SLOTS);
  private sizeClasses = new Uint16Array(INITIAL_SLOTS);
  private states = new Uint8Array(INITIAL_SLOTS);
  /** Per size class: ordinal + 1 of the newest entry, 0 for an empty list. */
  private readonly tops = new Float64Array(SIZE_CLASS_COUNT);

  /** Block `ordinal` of size class `sizeClassIndex` is created (blocks come in ordinal order). */
  created(ordinal: number, sizeClassIndex: number): void {
    if (ordinal >= this.owners.length && this.owners.length < FREED_LIST_WINDOW) this.grow();
    const slot = ordinal % this.owners.length;
    this.owners[slot] = ordinal + 1;
    this.below[slot] = 0;
    this.sizeClasses[slot] = sizeClassIndex;
    this.states[slot] = LIVE;
  }

  /** Block `ordinal` is freed: it goes on top of its class's list if it still has its slot. */
  freed(ordinal: number): void {
    const slot = ordinal % this.owners.length;
    if (this.owners[slot] !== ordinal + 1 || this.states[slot] !== LIVE) return;
    const sizeClassIndex = this.sizeClasses[slot];
    this.states[slot] = FREED;
    this.below[slot] = this.tops[sizeClassIndex];
    this.tops[sizeClassIndex] = ordinal + 1;
  }

  /** A freed block named by its ordinal as the block a new one reuses: it is taken. */
  taken(ordinal: number): void {
    const slot = ordinal % this.owners.length;
    if (this.owners[slot] === ordinal + 1 && this.states[slot] === FREED) this.states[slot] = TAKEN;
  }

  /**
   * Takes the freed block of rank `rank` (0 = the newest) in the list of class `sizeClassIndex`
   * and returns its ordinal, for new block `newOrdinal`, which counts as created already: its slot
   * is no longer the block's FREED_LIST_WINDOW before it.
   */
  takeRanked(rank: number, sizeClassIndex: number, newOrdinal: number): number {
    const displaced = newOrdinal - FREED_LIST_WINDOW;
    let linkSlot = -1;  // the slot whose `below` points at the entry looked at; -1: the class's top
    let seen = 0;
    for (;;) {
      const link = linkSlot < 0 ? this.tops[sizeClassIndex] : this.below[linkSlot];
      if (link === 0) break;
      const entry = link - 1;
      const slot = entry % this.owners.length;
      if (this.owners[slot] !== link || entry === displaced) {  // its slot went to a newer block
        this.setLink(linkSlot, sizeClassIndex, 0);
        break;
      }
      if (this.states[slot] !== FREED) {  // taken earlier: unlinked on the way
        this.setLink(linkSlot, sizeClassIndex, this.below[slot]);
        continue;
      }
      if (seen === rank) {
        this.setLink(linkSlot, sizeClassIndex, this.below[slot]);
        this.states[slot] = TAKEN;
        return entry;
      }
      seen++;
      linkSlot = slot;
    }
    throw new PayloadError(`a new block names freed block ${rank} of its size class's list, which holds ${seen}`, -1);
  }

  private setLink(linkSlot: number, sizeClassIndex: number, value: number): void {
    if (linkSlot < 0) this.tops[sizeClassIndex] = value;
    else this.below[linkSlot] = value;
  }

  /** Doubles the slots; every block so far keeps its slot, since none has lost one yet. */
  private grow(): void {
    const length = this.owners.length * 2;
    const grown = <T extends Float64Array | Uint16Array | Uint8Array>(old: T, make: (n: number) => T): T => {
      const array = make(length);
      array.set(old);
      return array;
    };
    this.owners = grown(this.owners, (n) => new Float64Array(n));
    this.below = grown(this.below, (n) => new Float64Array(n));
    this.sizeClasses = grown(this.sizeClasses, (n) => new Uint16Array(n));
    this.states = grown(this.states, (n) => new Uint8Array(n));
  }
}
