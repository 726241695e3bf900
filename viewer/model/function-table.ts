// One row per frame of a ViewTree: what the frame allocated itself (own) and what happened under it
// (total). A recursive frame's total counts its outermost occurrence only, so totals never exceed
// the root's.
import type { ViewTree } from './view-tree.js';
import type { WidthMetric } from './flame-layout.js';

export interface FunctionRow {
  frame: number;
  ownBytes: number;
  ownCount: number;
  totalBytes: number;
  totalCount: number;
}

export function functionTable(tree: ViewTree): FunctionRow[] {
  const byFrame = new Map<number, FunctionRow>();
  const row = (frame: number) => {
    let r = byFrame.get(frame);
    if (!r) { r = { frame, ownBytes: 0, ownCount: 0, totalBytes: 0, totalCount: 0 }; byFrame.set(frame, r); }
    return r;
  };
  // Depth-first over a child list, tracking how many times each frame is on the current path.
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
      const f = tree.frame[-v - 2];
      onPath.set(f, onPath.get(f)! - 1);
      continue;
    }
    if (tree.totalBytes[v] === 0 && tree.totalCount[v] === 0) continue;
    const f = tree.frame[v];
    const r = row(f);
    r.ownBytes += tree.selfBytes[v];
    r.ownCount += tree.selfCount[v];
    const depthOfFrame = onPath.get(f) ?? 0;
    if (depthOfFrame === 0) { r.totalBytes += tree.totalBytes[v]; r.totalCount += tree.totalCount[v]; }
    onPath.set(f, depthOfFrame + 1);
    stack.push(-v - 2); // a marker to leave v once its subtree is done
    for (let c = first[v]; c < first[v + 1]; c++) stack.push(children[c]);
  }
  return [...byFrame.values()];
}

/** A row's total in the measure the flame graph is sized by, and the whole it is a share of. */
export function rowShare(row: FunctionRow, tree: Pick<ViewTree, 'totalBytes' | 'totalCount'>, metric: WidthMetric): { part: number; whole: number } {
  return metric === 'bytes'
    ? { part: row.totalBytes, whole: tree.totalBytes[0] }
    : { part: row.totalCount, whole: tree.totalCount[0] };
}
