// Icicle layout of a ViewTree: nodes in preorder (children widest first), each with its depth, its
// start and width in value units (bytes or allocations) and the preorder index just past its
// subtree. A renderer walks this array once per frame and skips a whole subtree as soon as a node
// is narrower than a pixel or off screen; hit-testing uses the same arrays. Positions stay float64
// here: a float32 layout loses whole pixels when zoomed deep into a multi-GiB total.
import type { ViewTree } from './view-tree.js';

export type WidthMetric = 'bytes' | 'count';

export interface FlameLayout {
  length: number;
  node: Int32Array; // ViewTree node of each preorder slot
  depth: Int32Array;
  start: Float64Array; // value units from the left edge of the root
  width: Float64Array;
  subtreeEnd: Int32Array; // first preorder slot after this node's subtree
  maxDepth: number;
  total: number; // width of the root
}

/**
 * Children of every node as one CSR array, widest first. One sort of all nodes does it: the keys
 * are the widths' float32 bit patterns (monotonic for non-negative floats), and scattering nodes to
 * their parents in sorted order leaves every family sorted. Widths equal to float32 precision keep
 * index order, which no one can see.
 */
function sortedChildren(tree: ViewTree, value: Float64Array, minWidth: number): { first: Int32Array; list: Int32Array } {
  const n = tree.count;
  const first = new Int32Array(n + 1);
  let visible = 0;
  const floor = minWidth > 0 ? minWidth : Number.MIN_VALUE;
  for (let i = 1; i < n; i++) if (value[i] >= floor) { first[tree.parent[i] + 1]++; visible++; }
  for (let i = 0; i < n; i++) first[i + 1] += first[i];
  const fill = first.slice(0, n);
  const list = new Int32Array(first[n]);
  const indexBits = 2 ** 21;
  if (n <= indexBits) {
    // LSD radix sort (3 passes of 11 bits, stable) of the inverted float32 bit patterns: widest first,
    // equal widths in index order. Several times faster than a native sort of a million keys.
    let keys = new Uint32Array(visible);
    let order = new Int32Array(visible);
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    let k = 0;
    for (let i = 1; i < n; i++) {
      if (!(value[i] >= floor)) continue;
      f32[0] = value[i];
      keys[k] = ~u32[0] >>> 0;
      order[k++] = i;
    }
    let keysOut = new Uint32Array(visible);
    let orderOut = new Int32Array(visible);
    const counts = new Int32Array(2048);
    for (let shift = 0; shift < 33; shift += 11) {
      counts.fill(0);
      for (let j = 0; j < visible; j++) counts[(keys[j] >>> shift) & 2047]++;
      let sum = 0;
      for (let b = 0; b < 2048; b++) { const c = counts[b]; counts[b] = sum; sum += c; }
      for (let j = 0; j < visible; j++) {
        const at = counts[(keys[j] >>> shift) & 2047]++;
        keysOut[at] = keys[j];
        orderOut[at] = order[j];
      }
      [keys, keysOut] = [keysOut, keys];
      [order, orderOut] = [orderOut, order];
    }
    for (let j = 0; j < visible; j++) {
      const i = order[j];
      list[fill[tree.parent[i]]++] = i;
    }
  } else {
    for (let i = 1; i < n; i++) if (value[i] >= floor) list[fill[tree.parent[i]]++] = i;
    for (let p = 0; p < n; p++) {
      const a = first[p], b = first[p + 1];
      if (b - a < 2) continue;
      list.set(Array.from(list.subarray(a, b)).sort((x, y) => value[y] - value[x] || x - y), a);
    }
  }
  return { first, list };
}

/**
 * Lays out every node worth more than nothing, or with `minWidth` (value units) only the nodes at
 * least that wide: a quick first layout for a first paint. Because children are ordered widest
 * first, the nodes such a layout keeps have exactly the positions they have in the full one.
 */
export function layoutFlame(tree: ViewTree, metric: WidthMetric, minWidth = 0): FlameLayout {
  const value = metric === 'bytes' ? tree.totalBytes : tree.totalCount;
  if (minWidth > 0) return layoutWideNodes(tree, value, metric, minWidth);
  const { first, list } = sortedChildren(tree, value, 0);
  const visible = value[0] > 0 ? first[tree.count] + 1 : 0;
  const node = new Int32Array(visible);
  const depth = new Int32Array(visible);
  const start = new Float64Array(visible);
  const width = new Float64Array(visible);
  const subtreeEnd = new Int32Array(visible);
  let maxDepth = 0;
  if (visible > 0) {
    // Iterative preorder: a stack of (node, depth, start) with children pushed in reverse order.
    const stackNode = new Int32Array(visible);
    const stackDepth = new Int32Array(visible);
    const stackStart = new Float64Array(visible);
    const openSlots = new Int32Array(visible + 1); // slots whose subtree end is not known yet
    let open = 0;
    let top = 0;
    stackNode[0] = 0;
    let slot = 0;
    while (top >= 0) {
      const v = stackNode[top], d = stackDepth[top], s = stackStart[top];
      top--;
      while (open > 0 && depth[openSlots[open - 1]] >= d) subtreeEnd[openSlots[--open]] = slot;
      node[slot] = v;
      depth[slot] = d;
      start[slot] = s;
      width[slot] = value[v];
      if (d > maxDepth) maxDepth = d;
      openSlots[open++] = slot;
      slot++;
      let childStart = s;
      const a = first[v], b = first[v + 1];
      // Starts are computed left to right, then pushed right to left so the widest pops first.
      const base = top + 1;
      for (let c = a; c < b; c++) {
        const at = base + (b - 1 - c);
        stackNode[at] = list[c];
        stackDepth[at] = d + 1;
        stackStart[at] = childStart;
        childStart += value[list[c]];
      }
      top += b - a;
    }
    while (open > 0) subtreeEnd[openSlots[--open]] = slot;
  }
  return { length: visible, node, depth, start, width, subtreeEnd, maxDepth, total: visible ? value[0] : 0 };
}

/**
 * The quick layout: copy the nodes at least `minWidth` wide (a connected top of the tree, since a
 * node is never wider than its parent) into a small tree in one pass, and lay that out.
 */
function layoutWideNodes(tree: ViewTree, value: Float64Array, metric: WidthMetric, minWidth: number): FlameLayout {
  const kept: number[] = [0];
  const compact = new Int32Array(tree.count);
  for (let i = 1; i < tree.count; i++) {
    if (value[i] >= minWidth) { compact[i] = kept.length; kept.push(i); }
  }
  const k = kept.length;
  const small: ViewTree = {
    count: k,
    parent: new Int32Array(k),
    frame: new Int32Array(k),
    selfBytes: new Float64Array(k),
    selfCount: new Float64Array(k),
    totalBytes: new Float64Array(k),
    totalCount: new Float64Array(k),
  };
  small.parent[0] = -1;
  for (let j = 0; j < k; j++) {
    const i = kept[j];
    if (j > 0) small.parent[j] = compact[tree.parent[i]];
    small.frame[j] = tree.frame[i];
    small.totalBytes[j] = tree.totalBytes[i];
    small.totalCount[j] = tree.totalCount[i];
  }
  const layout = layoutFlame(small, metric);
  for (let slot = 0; slot < layout.length; slot++) layout.node[slot] = kept[layout.node[slot]];
  return layout;
}

/** The preorder slot under a point given in value units and depth, or -1. */
export function hitTest(layout: FlameLayout, value: number, row: number): number {
  let i = 0;
  while (i < layout.length) {
    if (value < layout.start[i] || value >= layout.start[i] + layout.width[i]) { i = layout.subtreeEnd[i]; continue; }
    if (layout.depth[i] === row) return i;
    i++; // descend: the next slot is the first child
  }
  return -1;
}

/**
 * The deepest row with a node at least `minWidth` wide (value units) in [startValue, endValue):
 * how far down a view of that range has anything to draw. Visits only such nodes, as a frame does.
 */
export function deepestVisibleRow(layout: FlameLayout, startValue: number, endValue: number, minWidth: number): number {
  let deepest = 0;
  let i = 0;
  while (i < layout.length) {
    const start = layout.start[i], width = layout.width[i];
    if (width < minWidth || start >= endValue || start + width <= startValue) { i = layout.subtreeEnd[i]; continue; }
    if (layout.depth[i] > deepest) deepest = layout.depth[i];
    i++;
  }
  return deepest;
}

/** Slots from the root down to `slot` (inclusive), for the breadcrumb. */
export function ancestry(layout: FlameLayout, slot: number): number[] {
  const path: number[] = [];
  let i = 0;
  while (i < layout.length && i <= slot) {
    if (slot >= i && slot < layout.subtreeEnd[i]) { path.push(i); if (i === slot) break; i++; }
    else i = layout.subtreeEnd[i];
  }
  return path;
}
