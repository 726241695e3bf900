// The table that holds V8's code objects back until a stack goes through them
// (collector/src/core/deferred_code.cpp): after any sequence of adds, moves and lookups it must
// write each code object at most once, only while it is the code at that place, and say which
// moves a reader needs to hear about, as a plain list of ranges does.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../decoder/random-capture.js';
import { testAddonPath } from './trace-helpers.js';

const native = createRequire(import.meta.url)(testAddonPath) as {
  deferredCodeOperations(operations: Float64Array): Float64Array;
};

const ADD = 0;
const MOVE = 1;
const TAKE = 2;

interface ModelCode { start: number; end: number; identity: number; written: boolean }

/** The reference: code as a list; a new range replaces every range it overlaps. */
function listModel(operations: number[][]): number[] {
  let codes: ModelCode[] = [];
  const withoutOverlap = (start: number, end: number) => codes.filter((code) => !(code.start < end && code.end > start));
  return operations.map(([type, a, b, c]) => {
    if (type === ADD) {
      if (codes.some((code) => code.start === a && code.end === a + b && code.identity === c)) return 0;
      codes = withoutOverlap(a, a + b);
      codes.push({ start: a, end: a + b, identity: c, written: false });
      return 1;
    }
    if (type === MOVE) {
      const moved = codes.find((code) => code.start === a);
      if (!moved) return 2;
      codes = codes.filter((code) => code !== moved);
      const length = moved.end - moved.start;
      codes = withoutOverlap(b, b + length);
      codes.push({ ...moved, start: b, end: b + length });
      return moved.written ? 0 : 1;
    }
    const covering = codes.find((code) => code.start <= a && a < code.end);
    if (!covering || covering.written) return -1;
    covering.written = true;
    return covering.start;
  });
}

describe('deferred code', () => {
  it('matches a list model over random adds, moves and lookups that overlap and revisit each other', () => {
    const base = 0x7f0000000000;
    for (let seed = 1; seed <= 20; seed++) {
      const random = seededRandom(seed);
      const place = () => base + Math.floor(random() * 64) * 16;
      const operations: number[][] = [];
      const starts: number[] = [];
      for (let i = 0; i < 2000; i++) {
        const roll = random();
        if (roll < 0.35) {
          // Few sizes and identities, so the same code is often reported again at the same place.
          const start = place();
          starts.push(start);
          operations.push([ADD, start, 16 * (1 + Math.floor(random() * 8)), 1 + Math.floor(random() * 2)]);
        } else if (roll < 0.5) {
          const from = starts.length > 0 && random() < 0.8 ? starts[Math.floor(random() * starts.length)] : place();
          const to = place();
          starts.push(to);
          operations.push([MOVE, from, to, 0]);
        } else {
          operations.push([TAKE, base + Math.floor(random() * 64 * 16 + 128), 0, 0]);
        }
      }
      const results = Array.from(native.deferredCodeOperations(new Float64Array(operations.flat())));
      expect(results, `seed ${seed}`).toEqual(listModel(operations));
    }
  });

  it('writes a code object once, however many stacks go through it, and again only after new code replaces it', () => {
    const at = 0x7f0000001000;
    const results = native.deferredCodeOperations(new Float64Array([
      ADD, at, 64, 1,
      TAKE, at + 10, 0, 0, // first stack through it: written
      TAKE, at + 20, 0, 0, // already written
      ADD, at, 64, 1, // the same code listed again (another isolate): nothing new
      TAKE, at + 30, 0, 0,
      ADD, at + 32, 64, 2, // new code over its second half replaces it
      TAKE, at + 40, 0, 0,
      MOVE, at + 32, at + 512, 0, // written code moves: a reader must hear of it
      ADD, at + 1024, 16, 3,
      MOVE, at + 1024, at + 2048, 0, // unwritten code moves silently
      TAKE, at + 2050, 0, 0,
      ADD, at + 4096, 16, 4,
      ADD, at + 8192, 64, 5,
      TAKE, at + 8200, 0, 0, // a lookup in written code...
      MOVE, at + 4096, at + 8192, 0, // ...which unwritten code then moves over
      TAKE, at + 8200, 0, 0, // the moved code is what a reader must be told of now
      ADD, at + 12288, 16, 6,
      TAKE, at + 12289, 0, 0,
      MOVE, at + 12288, at + 16384, 0, // written code moves away...
      ADD, at + 12288, 16, 7, // ...and new code takes its old place
      TAKE, at + 12289, 0, 0,
    ]));
    expect(Array.from(results)).toEqual([1, at, -1, 0, -1, 1, at + 32, 0, 1, 1, at + 2048, 1, 1, at + 8192, 1, at + 8192, 1, at + 12288, 0, 1, at + 12288]);
  });
});
