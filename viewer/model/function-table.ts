// One row per frame of a ViewTree, or per function (function-groups.ts): what it allocated itself
// (own) and what happened under it (total). A recursive function's total counts its outermost
// occurrence only, so totals never exceed the root's; the same holds across the lines of a function.
import type { ViewTree } from './view-tree.js';
import type { WidthMetric } from './flame-layout.js';

export interface FunctionRow {
  /** The row's frame; for a whole function, the first of its frames the view holds. */
  frame: number;
  /** How many frames (lines of the function) the row adds up: 1 unless rows are whole functions. */
  lines: number;
  ownBytes: number;
  ownCount: number;
  totalBytes: number;
  totalCount: number;
}

/**
 * `groups`: functionGroups(model), for one row per function; without it one row per frame. A frame
 * below zero (the root, hidden frames) is its own row either way.
 */
export function functionTable(tree: ViewTree, groups?: Int32Array): FunctionRow[] {
  const byKey = new Map<number, FunctionRow>();
  const framesOf = new Map<number, Set<number>>();
  const keyOf = (frame: number) => (groups && frame >= 0 ? groups[frame] : frame);
  const row = (key: number, frame: number) => {
    let r = byKey.get(key);
    if (!r) {
      r = { frame, lines: 1, ownBytes: 0, ownCount: 0, totalBytes: 0, totalCount: 0 };
      byKey.set(key, r);
    } else if (groups && r.frame !== frame) {
      let seen = framesOf.get(key);
      if (!seen) framesOf.set(key, seen = new Set([r.frame]));
      if (!seen.has(frame)) { seen.add(frame); r.lines++; }
    }
    return r;
  };
  // Depth-first over a child list, tracking how many times each row's key is on the current path.
  const n = tree.count;
  const first = new Int32Array(n + 1);
  for (let i = 1; i < n; i++) first[tree.parent[i] + 1]++;
  for (let i = 0; i < n; i++) first[i + 1] += first[i];
  const fill = first.slice(0, n);
  const children = new Int32Array(Math.max(0, n - 1));
  for (let i = 1; i < n; i++) children[fill[tree.parent[i]]++] = i;
  const onPath = new Map<number, number>();
  const stack: number[] = [];
  for (let c = first[0]; c < first[1]; c++) stack.push(children[c]);
  while (stack.length) {
    const v = stack.pop()!;
    if (v < 0) {
      const key = keyOf(tree.frame[-v - 2]);
      onPath.set(key, onPath.get(key)! - 1);
      continue;
    }
    if (tree.totalBytes[v] === 0 && tree.totalCount[v] === 0) continue;
    const key = keyOf(tree.frame[v]);
    const r = row(key, tree.frame[v]);
    r.ownBytes += tree.selfBytes[v];
    r.ownCount += tree.selfCount[v];
    const depthOfKey = onPath.get(key) ?? 0;
    if (depthOfKey === 0) { r.totalBytes += tree.totalBytes[v]; r.totalCount += tree.totalCount[v]; }
    onPath.set(key, depthOfKey + 1);
    stack.push(-v - 2); // a marker to leave v once its subtree is done
    for (let c = first[v]; c < first[v + 1]; c++) stack.push(children[c]);
  }
  return [...byKey.values()];
}

/** A row's total in the measure the flame graph is sized by, and the whole it is a share of. */
export function rowShare(row: FunctionRow, tree: Pick<ViewTree, 'totalBytes' | 'totalCount'>, metric: WidthMetric): { part: number; whole: number } {
  return metric === 'bytes'
    ? { part: row.totalBytes, whole: tree.totalBytes[0] }
    : { part: row.totalCount, whole: tree.totalCount[0] };
}
