// How much of a capture's attribution may be folded by inlining: TurboFan inlines small functions
// into the code it optimizes, and an allocation made in an inlined function shows under the
// function it was inlined into (docs/collector.md). The CLI says so when it is a large share.
import type { CallTree, NodeMetrics } from '../../../viewer/model/types.js';

/**
 * The share (0–1) of `allocated` counts made with an optimized frame on their stack. Parents come
 * before their children in the tree (call-tree-builder), so one pass carries "under" downwards.
 */
export function shareUnderOptimizedCode(tree: CallTree, optimizedFrames: Uint8Array, allocated: NodeMetrics): number {
  const under = new Uint8Array(tree.count);
  let total = 0;
  let underOptimized = 0;
  for (let node = 1; node < tree.count; node++) {
    const frame = tree.frame[node];
    under[node] = under[tree.parent[node]] | (frame >= 0 ? optimizedFrames[frame] : 0);
    const count = allocated.count[node];
    total += count;
    if (under[node]) underOptimized += count;
  }
  return total === 0 ? 0 : underOptimized / total;
}
