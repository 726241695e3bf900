// The table that tells reused JIT code apart (collector/src/core/reused_code.cpp): after any
// sequence of code ranges, a pc's trie key must carry the salt of the latest reused range that
// covers it, as a model that paints every range does. An earlier version lost salts when one
// salted range was split around a new one (its in-place rewrite overran the ranges still unread).
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../decoder/random-capture.js';
import { testAddonPath } from './trace-helpers.js';

const native = createRequire(import.meta.url)(testAddonPath) as {
  reusedCodeSalts(ranges: Float64Array, probes: Float64Array, identities: Float64Array): { outcomes: Float64Array; salts: Float64Array };
};

/**
 * The model: code ranges as a plain list (a new range replaces every range it overlaps, and
 * overlapping one means the memory is reused, unless it is the very same range reported again
 * with the same identity), salts painted per 16-byte unit.
 */
function paintedModel(ranges: [number, number][], identities: number[], units: number, base: number) {
  let code: [number, number, number][] = [];
  const salt = new Float64Array(units);
  const outcomes: number[] = [];
  let nextSalt = 1;
  ranges.forEach(([start, end], index) => {
    const identity = identities[index];
    if (code.some(([s, e, id]) => s === start && e === end && id === identity)) {
      outcomes.push(0);
      return;
    }
    const reused = code.some(([s, e]) => s < end && e > start);
    code = code.filter(([s, e]) => !(s < end && e > start));
    code.push([start, end, identity]);
    outcomes.push(reused ? 1 : 0);
    if (reused) {
      for (let unit = (start - base) / 16; unit < (end - base) / 16; unit++) salt[unit] = nextSalt;
      nextSalt++;
    }
  });
  return { salt, outcomes };
}

describe('reused JIT code salts', () => {
  it('match a painted model over random code ranges that overlap, nest and split each other', () => {
    const base = 0x100000;
    const units = 4096;
    for (let seed = 1; seed <= 20; seed++) {
      const random = seededRandom(seed);
      const ranges: [number, number][] = [];
      for (let i = 0; i < 400; i++) {
        // Few distinct starts, so later ranges land inside, around and across earlier ones.
        const start = base + Math.floor(random() * (units - 80)) * 16;
        ranges.push([start, start + (1 + Math.floor(random() * 64)) * 16]);
      }
      // Few identities, so the same range is now and then reported again as the same code.
      const identities = ranges.map(() => Math.floor(random() * 3));
      const probes = Float64Array.from({ length: units }, (_, unit) => base + unit * 16 + 3);
      const { outcomes, salts } = native.reusedCodeSalts(Float64Array.from(ranges.flat()), probes, Float64Array.from(identities));
      const model = paintedModel(ranges, identities, units, base);
      expect(Array.from(outcomes)).toEqual(model.outcomes);
      expect(Array.from(salts)).toEqual(Array.from(model.salt));
    }
  });

  it('the same code listed again at the same place (builtins, for each worker) is not reuse; other code there is', () => {
    const ranges = Float64Array.of(0x1000, 0x1100, 0x1000, 0x1100, 0x1000, 0x1100);
    const { outcomes, salts } = native.reusedCodeSalts(ranges, Float64Array.of(0x1050), Float64Array.of(7, 7, 8));
    expect(Array.from(outcomes)).toEqual([0, 0, 1]);
    expect(Array.from(salts)).toEqual([1]);
  });
});
