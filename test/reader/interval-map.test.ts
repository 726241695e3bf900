// The address-range map behind code objects, modules and mappings agrees with a plain list.
import { describe, expect, it } from 'vitest';
import { IntervalMap } from '../../collector/lib/reader/interval-map.js';
import { LiveMappings } from '../../collector/lib/reader/live-mappings.js';

describe('IntervalMap', () => {
  it('finds, inserts and cuts out ranges exactly like a naive list, over random operations', () => {
    const map = new IntervalMap<number>();
    let naive: { start: number; end: number; value: number }[] = [];
    let seed = 99;
    const random = (n: number) => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) >>> 8) % n;
    for (let step = 0; step < 5000; step++) {
      const start = random(1000);
      const end = start + 1 + random(40);
      if (random(3) === 0) {
        const removed = map.removeOverlapping(start, end);
        const expected = naive.filter((r) => r.start < end && r.end > start);
        naive = naive.filter((r) => !(r.start < end && r.end > start));
        expect(removed).toEqual(expected);
      } else {
        map.removeOverlapping(start, end);
        naive = naive.filter((r) => !(r.start < end && r.end > start));
        map.insert(start, end, step);
        naive.push({ start, end, value: step });
        naive.sort((a, b) => a.start - b.start);
      }
      const probe = random(1050);
      expect(map.find(probe)?.value).toBe(naive.find((r) => r.start <= probe && probe < r.end)?.value);
      expect(map.size).toBe(naive.length);
    }
  });
});

describe('LiveMappings', () => {
  it('returns what each unmap removed, per MAP, and when a MAP is gone', () => {
    const mappings = new LiveMappings();
    mappings.map(0, 100, 1);
    mappings.map(100, 100, 2);
    expect(mappings.unmap(40, 20)).toEqual([{ node: 1, bytes: 20, mappingGone: false }]);
    expect(mappings.unmap(0, 150)).toEqual([
      { node: 1, bytes: 40, mappingGone: false },
      { node: 1, bytes: 40, mappingGone: true },
      { node: 2, bytes: 50, mappingGone: false },
    ]);
    expect(mappings.liveMappingCount).toBe(1);
    expect(mappings.unmap(0, 1000)).toEqual([{ node: 2, bytes: 50, mappingGone: true }]);
    expect(mappings.liveMappingCount).toBe(0);
  });
});
