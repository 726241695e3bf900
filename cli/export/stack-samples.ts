// What every export format is made of: the stacks of the capture's call tree that hold a value in
// the chosen view, each with its own (self) bytes and allocations. Stacks list frames root first
// (thread, outermost caller, ..., the allocator's caller).
import type { CaptureModel, NodeMetrics } from '../../viewer/model/types.js';

export interface StackSample {
  /** Call-tree node of the innermost frame. */
  node: number;
  /** Frame indices, outermost first. */
  frames: number[];
}

/** Every call-tree node (but the root) where one of `metrics` has a non-zero own value. */
export function stackSamples(model: CaptureModel, metrics: NodeMetrics[]): StackSample[] {
  const { tree } = model;
  const samples: StackSample[] = [];
  for (let node = 1; node < tree.count; node++) {
    if (!metrics.some((m) => m.bytes[node] !== 0 || m.count[node] !== 0)) continue;
    const frames: number[] = [];
    for (let at = node; at > 0; at = tree.parent[at]) if (tree.frame[at] >= 0) frames.push(tree.frame[at]);
    frames.reverse();
    samples.push({ node, frames });
  }
  return samples;
}

export function viewTotals(model: CaptureModel, metrics: NodeMetrics): { bytes: number; count: number } {
  let bytes = 0, count = 0;
  for (let i = 0; i < model.tree.count; i++) { bytes += metrics.bytes[i]; count += metrics.count[i]; }
  return { bytes, count };
}
