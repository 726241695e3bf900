// The call tree one flame graph shows: the capture's tree for one view (peak, leaks...), after the
// user's toggles (hide frames, merge threads, pick a thread, invert). Hidden frames hand their
// bytes to the nearest shown ancestor; siblings that become the same frame are merged.
import { FrameKind, type CaptureModel, type NodeMetrics } from './types.js';

export type ViewName = keyof CaptureModel['views'];

export interface ViewOptions {
  view: ViewName;
  hideInternals: boolean; // FrameKind.NodeInternal (node's own JS, module loading)
  hideNative: boolean; // FrameKind.Native and FrameKind.V8
  mergeThreads: boolean;
  /** Index of a capture-tree node of kind Thread to keep alone, or -1 for every thread. */
  threadNode: number;
  inverted: boolean;
}

export const defaultViewOptions: ViewOptions = {
  view: 'peak',
  hideInternals: false,
  hideNative: false,
  mergeThreads: false,
  threadNode: -1,
  inverted: false,
};

/**
 * Frame id of the node that holds what hidden frames allocated when no shown frame is above them
 * (directly under the root or a thread): without it those bytes would be an unlabelled gap.
 */
export const hiddenFramesFrame = -2;

/** A derived tree; `frame` indexes the model's FrameTable (-1 for the root, -2 for hidden frames). */
export interface ViewTree {
  count: number;
  parent: Int32Array;
  frame: Int32Array;
  selfBytes: Float64Array;
  selfCount: Float64Array;
  totalBytes: Float64Array;
  totalCount: Float64Array;
  /** Set when the tree hit its size limit and the deepest call paths were cut short. */
  truncated?: boolean;
}

/** Subtree sums of self values; relies on parent[i] < i. */
export function subtreeTotals(parent: Int32Array, self: Float64Array, count = parent.length): Float64Array {
  const total = new Float64Array(count);
  total.set(self.subarray(0, count));
  for (let i = count - 1; i > 0; i--) total[parent[i]] += total[i];
  return total;
}

/**
 * Children keyed by (parent, frame), so equal frames under one parent merge into one node: an
 * open-addressing hash table on typed arrays (a JS Map is several times slower here and holds at
 * most 2^24 entries). Past `maxNodes` it creates no more nodes and answers with the parent itself:
 * the tree loses its finest detail but no bytes.
 */
class TreeBuilder {
  parent: number[] = [-1];
  frame: number[] = [-1];
  full = false;
  private slotParent = new Int32Array(1 << 16);
  private slotFrame = new Int32Array(1 << 16);
  private slotNode = new Int32Array(1 << 16).fill(-1);
  private used = 0;
  constructor(private maxNodes = 4_000_000) {}

  child(parentId: number, frameId: number): number {
    let mask = this.slotNode.length - 1;
    let h = (Math.imul(parentId, 0x9e3779b1) ^ Math.imul(frameId + 3, 0x85ebca77)) & mask;
    for (;;) {
      const node = this.slotNode[h];
      if (node < 0) break;
      if (this.slotParent[h] === parentId && this.slotFrame[h] === frameId) return node;
      h = (h + 1) & mask;
    }
    if (this.parent.length >= this.maxNodes) {
      this.full = true;
      return parentId;
    }
    const id = this.parent.length;
    this.parent.push(parentId);
    this.frame.push(frameId);
    if (++this.used * 2 > this.slotNode.length) {
      this.rehash();
      mask = this.slotNode.length - 1;
      h = (Math.imul(parentId, 0x9e3779b1) ^ Math.imul(frameId + 3, 0x85ebca77)) & mask;
      while (this.slotNode[h] >= 0) h = (h + 1) & mask;
    }
    this.slotParent[h] = parentId;
    this.slotFrame[h] = frameId;
    this.slotNode[h] = id;
    return id;
  }

  private rehash(): void {
    const oldParent = this.slotParent, oldFrame = this.slotFrame, oldNode = this.slotNode;
    const size = oldNode.length * 2;
    this.slotParent = new Int32Array(size);
    this.slotFrame = new Int32Array(size);
    this.slotNode = new Int32Array(size).fill(-1);
    const mask = size - 1;
    for (let k = 0; k < oldNode.length; k++) {
      if (oldNode[k] < 0) continue;
      let h = (Math.imul(oldParent[k], 0x9e3779b1) ^ Math.imul(oldFrame[k] + 3, 0x85ebca77)) & mask;
      while (this.slotNode[h] >= 0) h = (h + 1) & mask;
      this.slotParent[h] = oldParent[k];
      this.slotFrame[h] = oldFrame[k];
      this.slotNode[h] = oldNode[k];
    }
  }
}

function finish(parent: Int32Array, frame: Int32Array, selfBytes: Float64Array, selfCount: Float64Array): ViewTree {
  return {
    count: parent.length,
    parent,
    frame,
    selfBytes,
    selfCount,
    totalBytes: subtreeTotals(parent, selfBytes),
    totalCount: subtreeTotals(parent, selfCount),
  };
}

export function buildViewTree(model: CaptureModel, options: ViewOptions, metrics?: NodeMetrics): ViewTree {
  const source = metrics ?? model.views[options.view];
  const { tree, frames } = model;
  const n = tree.count;
  const kind = frames.kind;
  const isThreadNode = (i: number) => tree.frame[i] >= 0 && kind[tree.frame[i]] === FrameKind.Thread && tree.parent[i] === 0;
  const identity = !options.hideInternals && !options.hideNative && !options.mergeThreads && options.threadNode < 0;
  let shown: ViewTree;
  if (identity) {
    // The capture's own arrays, not copies: a ViewTree is never written to.
    shown = finish(tree.parent.subarray(0, n), tree.frame.subarray(0, n), source.bytes.subarray(0, n), source.count.subarray(0, n));
  } else {
    const builder = new TreeBuilder();
    // attach[i]: the new node under which i's callees go; selfTo[i]: the one that gets i's bytes.
    // They differ only for hidden frames right under the root or a thread, whose bytes go to a
    // "(hidden frames)" node there while their shown callees stay under the thread.
    const attach = new Int32Array(n);
    const selfTo = new Int32Array(n);
    const topLevel = new Set<number>([0]);
    const hiddenUnder = new Map<number, number>();
    const selfBytes: number[] = [0];
    const selfCount: number[] = [0];
    for (let i = 1; i < n; i++) {
      const up = attach[tree.parent[i]];
      if (up < 0) { attach[i] = selfTo[i] = -1; continue; } // inside a thread that is not picked
      const f = tree.frame[i];
      const k = f >= 0 ? kind[f] : FrameKind.Native;
      if (isThreadNode(i)) {
        if (options.threadNode >= 0 && i !== options.threadNode) { attach[i] = selfTo[i] = -1; continue; }
        attach[i] = selfTo[i] = options.mergeThreads ? up : builder.child(up, f);
        topLevel.add(attach[i]);
      } else if ((options.hideInternals && k === FrameKind.NodeInternal) || (options.hideNative && (k === FrameKind.Native || k === FrameKind.V8))) {
        attach[i] = up;
        let target = up;
        if (topLevel.has(up)) {
          let hidden = hiddenUnder.get(up);
          if (hidden === undefined) {
            hidden = builder.parent.length;
            builder.parent.push(up);
            builder.frame.push(hiddenFramesFrame);
            hiddenUnder.set(up, hidden);
          }
          target = hidden;
        }
        selfTo[i] = target;
      } else {
        attach[i] = selfTo[i] = builder.child(up, f);
      }
      const id = selfTo[i];
      while (selfBytes.length <= id) { selfBytes.push(0); selfCount.push(0); }
      selfBytes[id] += source.bytes[i];
      selfCount[id] += source.count[i];
    }
    while (selfBytes.length < builder.parent.length) { selfBytes.push(0); selfCount.push(0); }
    shown = finish(Int32Array.from(builder.parent), Int32Array.from(builder.frame), Float64Array.from(selfBytes), Float64Array.from(selfCount));
    if (builder.full) shown.truncated = true;
  }
  return options.inverted ? invertTree(shown, model) : shown;
}

/**
 * The inverted ("bottom-up") tree: the first level under the root holds the innermost frames (where
 * memory was allocated), each with its callers below it. Thread nodes are left out.
 *
 * Built level by level: a group is a set of allocation sites whose call paths agree so far, split
 * by the frame of their next caller. A group worth less than `minFraction` of the total (in bytes
 * and in count) is not split further, so the work and the tree stay small on huge captures while
 * every total stays exact.
 */
export function invertTree(tree: ViewTree, model: CaptureModel, minFraction = 1e-4): ViewTree {
  const kind = model.frames.kind;
  const parentOf = tree.parent, frameOf = tree.frame;
  const minBytes = tree.totalBytes[0] * minFraction, minCount = tree.totalCount[0] * minFraction;
  const isThread = (node: number) => frameOf[node] >= 0 && kind[frameOf[node]] === FrameKind.Thread;
  // The next node up from `node` whose frame is shown in the inverted tree (0: no more callers).
  const callerOf = (node: number) => {
    let up = parentOf[node];
    while (up > 0 && isThread(up)) up = parentOf[up];
    return up;
  };
  const parent: number[] = [-1];
  const frame: number[] = [-1];
  const selfBytes: number[] = [0];
  const selfCount: number[] = [0];
  // Members of a group: allocation site (for its bytes) and the node whose frame comes next.
  let sites: number[] = [];
  let next: number[] = [];
  for (let i = 1; i < tree.count; i++) {
    if (tree.selfBytes[i] === 0 && tree.selfCount[i] === 0) continue;
    const first = isThread(i) ? callerOf(i) : i;
    sites.push(i);
    next.push(first);
  }
  const queue: { node: number; sites: number[]; next: number[] }[] = [{ node: 0, sites, next }];
  while (queue.length > 0) {
    const group = queue.pop()!;
    ({ sites, next } = group);
    const byFrame = new Map<number, { sites: number[]; next: number[]; bytes: number; count: number }>();
    for (let k = 0; k < sites.length; k++) {
      const site = sites[k], at = next[k];
      if (at === 0) { selfBytes[group.node] += tree.selfBytes[site]; selfCount[group.node] += tree.selfCount[site]; continue; }
      const f = frameOf[at];
      let part = byFrame.get(f);
      if (!part) { part = { sites: [], next: [], bytes: 0, count: 0 }; byFrame.set(f, part); }
      part.sites.push(site);
      part.next.push(callerOf(at));
      part.bytes += tree.selfBytes[site];
      part.count += tree.selfCount[site];
    }
    for (const [f, part] of byFrame) {
      const id = parent.length;
      parent.push(group.node);
      frame.push(f);
      if ((minBytes > 0 && part.bytes >= minBytes) || (minCount > 0 && part.count >= minCount)) {
        selfBytes.push(0);
        selfCount.push(0);
        queue.push({ node: id, sites: part.sites, next: part.next });
      } else {
        selfBytes.push(part.bytes); // too small to split: its callers are not shown
        selfCount.push(part.count);
      }
    }
  }
  return finish(Int32Array.from(parent), Int32Array.from(frame), Float64Array.from(selfBytes), Float64Array.from(selfCount));
}

/** The thread nodes of the capture tree (children of the root of kind Thread), for the picker. */
export function threadNodes(model: CaptureModel): { node: number; name: string }[] {
  const out: { node: number; name: string }[] = [];
  const { tree, frames, strings } = model;
  for (let i = 1; i < tree.count; i++) {
    if (tree.parent[i] !== 0) continue;
    const f = tree.frame[i];
    if (f >= 0 && frames.kind[f] === FrameKind.Thread) out.push({ node: i, name: strings[frames.functionName[f]] || `thread ${i}` });
  }
  return out;
}
