// What a time-range query returns: the two views that depend on the range, per call-tree node of
// the model (same indices as model.tree).
import type { NodeMetrics } from '../../viewer/model/types.js';

export interface RangeViews {
  /** Live at the moment tracked memory was highest within the range. */
  peak: NodeMetrics;
  /** Allocated within the range and still live at its end. */
  leaks: NodeMetrics;
  /** The range both views answer: the one asked for with its ends moved to the decoder's time buckets. */
  snappedMs: [number, number];
}
