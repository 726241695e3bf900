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
}

/** Subtree sums of self values; relies on parent[i] < i. */
export function subtreeTotals(parent: Int32Array, self: Float64Array, count = parent.length): Float64Array {
  const total = new Float64Array(count);
  total.set(self.subarray(0, count));
  for (let i = count - 1; i > 0; i--) total[parent[i]] += total[i];
  return total;
}

/** Children keyed by (parent, frame), so equal frames under one parent merge into one node. */
class TreeBuilder {
  parent: number[] = [-1];
  frame: number[] = [-1];
  private index = new Map<number, number>();
  constructor(private frameCount: number) {}
  child(parentId: number, frameId: number): number {
    const key = parentId * (this.frameCount + 1) + frameId + 1;
    let id = this.index.get(key);
    if (id === undefined) {
      id = this.parent.length;
      this.parent.push(parentId);
      this.frame.push(frameId);
      this.index.set(key, id);
    }
    return id;
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
    shown = finish(tree.parent.slice(0, n), tree.frame.slice(0, n), Float64Array.from(source.bytes.subarray(0, n)), Float64Array.from(source.count.subarray(0, n)));
  } else {
    const builder = new TreeBuilder(frames.count);
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
  }
  return options.inverted ? invertTree(shown, model) : shown;
}

/**
 * The inverted ("bottom-up") tree: the first level under the root holds the innermost frames (where
 * memory was allocated), each with its callers below it. Thread nodes are left out.
 */
export function invertTree(tree: ViewTree, model: CaptureModel): ViewTree {
  const builder = new TreeBuilder(model.frames.count);
  const hiddenUnder = new Map<number, number>();
  const selfBytes: number[] = [0];
  const selfCount: number[] = [0];
  const kind = model.frames.kind;
  for (let i = 1; i < tree.count; i++) {
    if (tree.selfBytes[i] === 0 && tree.selfCount[i] === 0) continue;
    let at = 0;
    for (let j = i; j > 0; j = tree.parent[j]) {
      const f = tree.frame[j];
      if (f === hiddenFramesFrame) {
        let hidden = hiddenUnder.get(at);
        if (hidden === undefined) {
          hidden = builder.parent.length;
          builder.parent.push(at);
          builder.frame.push(hiddenFramesFrame);
          hiddenUnder.set(at, hidden);
        }
        at = hidden;
        continue;
      }
      if (kind[f] === FrameKind.Thread) continue;
      at = builder.child(at, f);
    }
    while (selfBytes.length <= builder.parent.length) { selfBytes.push(0); selfCount.push(0); }
    selfBytes[at] += tree.selfBytes[i];
    selfCount[at] += tree.selfCount[i];
  }
  while (selfBytes.length < builder.parent.length) { selfBytes.push(0); selfCount.push(0); }
  selfBytes.length = selfCount.length = builder.parent.length;
  return finish(Int32Array.from(builder.parent), Int32Array.from(builder.frame), Float64Array.from(selfBytes), Float64Array.from(selfCount));
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
