// What an HTML report carries besides the viewer: the model and how to open it. The CLI encodes it
// with payload-codec into the page's <template id="memview-payload">; the page decodes it.
import type { CaptureModel, NodeMetrics } from './types.js';
import type { ViewName } from './view-tree.js';

export const payloadElementId = 'memview-payload';

/**
 * Views re-aggregated for time ranges, precomputed for a temporal report. Range k covers
 * [boundsMs[k], boundsMs[k + 1]); `views[k]` holds its metrics over the model's call tree.
 * The page combines consecutive ranges for a selection (sums for allocated and temporary).
 */
export interface TemporalRanges {
  boundsMs: Float64Array;
  views: { allocated: NodeMetrics; temporary: NodeMetrics; peak?: NodeMetrics; leaks?: NodeMetrics }[];
}

export interface ReportPayload {
  model: CaptureModel;
  initialView: ViewName;
  temporal: TemporalRanges | null;
  memviewVersion: string;
  /** Set when the model was pruned to fit the report: call paths worth less than this fraction of every total were folded into their callers. */
  foldedBelow?: number;
}
