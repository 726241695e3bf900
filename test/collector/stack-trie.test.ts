// The collector's stack trie (collector/src/core/stack_trie.cpp) places nodes by a hash of their
// path so that the slots of a new stack can be prefetched before any id is known. Whatever the
// placement, it must stay a map: one id per (parent, pc) edge, ids handed out densely, the same id
// for an edge seen again, across every doubling of the table and after a reset. A node lost or
// misplaced by a doubling would show as an edge defined twice: a bigger capture, and one call
// path split into two in every view.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../decoder/random-capture.js';
import { testAddonPath } from './trace-helpers.js';

const native = createRequire(import.meta.url)(testAddonPath) as {
  stackTrieChildren(edges: Float64Array, twice: boolean): Float64Array | number;
};

/** Edges as a program's stacks produce them: mostly deeper walks from recent nodes, often repeated. */
function stackEdges(count: number, seed: number): { edges: Float64Array; expected: number[] } {
  const random = seededRandom(seed);
  const model = new Map<string, number>();
  const edges = new Float64Array(count * 2);
  const expected: number[] = [];
  const recent: number[] = [0];
  for (let i = 0; i < count; i++) {
    const parent = random() < 0.1 ? 0 : recent[recent.length - 1 - Math.floor(random() * Math.min(recent.length, 64))];
    // Few distinct pcs, so the same pc sits under many parents; some carry a salt in bits 48+.
    const pc = 0x7f0000000000 + Math.floor(random() * 4096) * 16 + (random() < 0.05 ? 2 ** 48 * (1 + Math.floor(random() * 31)) : 0);
    const key = `${parent}:${pc}`;
    let child = model.get(key);
    if (child === undefined) {
      child = model.size + 1;
      model.set(key, child);
      expected.push(-child);
    } else {
      expected.push(child);
    }
    recent.push(child);
    edges[i * 2] = parent;
    edges[i * 2 + 1] = pc;
  }
  return { edges, expected };
}

describe('the stack trie', () => {
  it('gives one dense id per (parent, pc) edge through four doublings of its table', () => {
    const { edges, expected } = stackEdges(600_000, 7);
    const created = expected.filter((id) => id < 0).length;
    // The table starts with 65,536 slots and doubles at three quarters full.
    expect(created).toBeGreaterThan(0.75 * 65_536 * 2 ** 3);
    const children = native.stackTrieChildren(edges, false);
    expect(children).not.toBe(-1);
    expect(Array.from(children as Float64Array)).toEqual(expected);
  });

  it('numbers the same edges the same way again after a reset', () => {
    const { edges, expected } = stackEdges(120_000, 11);
    const children = native.stackTrieChildren(edges, true) as Float64Array;
    expect(Array.from(children.subarray(0, expected.length))).toEqual(expected);
    expect(Array.from(children.subarray(expected.length))).toEqual(expected);
  });

  it('keeps the same pc under different parents apart, and a salted pc apart from its plain one', () => {
    const pc = 0x7f0000001230;
    const children = native.stackTrieChildren(Float64Array.from([0, pc, 1, pc, 0, pc, 2, pc, 0, pc + 2 ** 48, 1, pc]), false);
    expect(Array.from(children as Float64Array)).toEqual([-1, -2, 1, -3, -4, 2]);
  });
});
