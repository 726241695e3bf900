// What an HTML report carries besides the viewer: the model and how to open it. The CLI encodes it
// with payload-codec into the page's <template id="memview-payload">; the page decodes it.
import type { CaptureModel, NodeMetrics } from './types.js';
import type { ViewName } from './view-tree.js';

export const payloadElementId = 'memview-payload';

/**
 * Views for time ranges, precomputed by the CLI for a temporal report (the page has no decoder).
 * The run is cut at `boundsMs`; for every pair of cuts i < j, `ranges` holds the decoder's
 * rangeViews(boundsMs[i], boundsMs[j]) as sparse lists over the model's call tree (node index and
 * values, nonzero entries only). A selection in the page snaps outwards to the nearest cuts.
 */
export interface TemporalRanges {
  boundsMs: Float64Array;
  ranges: SparseRangeViews[];
}

export interface SparseRangeViews {
  from: number; // index into boundsMs
  to: number;
  peak: SparseMetrics;
  leaks: SparseMetrics;
}

export interface SparseMetrics {
  node: Int32Array;
  bytes: Float64Array;
  count: Float64Array;
}

export function toSparse(metrics: NodeMetrics): SparseMetrics {
  let n = 0;
  for (let i = 0; i < metrics.bytes.length; i++) if (metrics.bytes[i] !== 0 || metrics.count[i] !== 0) n++;
  const out = { node: new Int32Array(n), bytes: new Float64Array(n), count: new Float64Array(n) };
  let k = 0;
  for (let i = 0; i < metrics.bytes.length; i++) {
    if (metrics.bytes[i] === 0 && metrics.count[i] === 0) continue;
    out.node[k] = i;
    out.bytes[k] = metrics.bytes[i];
    out.count[k++] = metrics.count[i];
  }
  return out;
}

export function fromSparse(sparse: SparseMetrics, nodeCount: number): NodeMetrics {
  const bytes = new Float64Array(nodeCount), count = new Float64Array(nodeCount);
  for (let k = 0; k < sparse.node.length; k++) { bytes[sparse.node[k]] = sparse.bytes[k]; count[sparse.node[k]] = sparse.count[k]; }
  return { bytes, count };
}

/** Moves sparse metrics onto a pruned tree (`newId` from pruneModelMapped), summing what merges. */
export function remapSparse(sparse: SparseMetrics, newId: Int32Array, newCount: number): SparseMetrics {
  const bytes = new Float64Array(newCount), count = new Float64Array(newCount);
  const seen = new Uint8Array(newCount);
  let distinct = 0;
  for (let k = 0; k < sparse.node.length; k++) {
    const id = newId[sparse.node[k]];
    if (!seen[id]) { seen[id] = 1; distinct++; }
    bytes[id] += sparse.bytes[k];
    count[id] += sparse.count[k];
  }
  const out = { node: new Int32Array(distinct), bytes: new Float64Array(distinct), count: new Float64Array(distinct) };
  for (let id = 0, j = 0; id < newCount; id++) {
    if (!seen[id]) continue;
    out.node[j] = id;
    out.bytes[j] = bytes[id];
    out.count[j++] = count[id];
  }
  return out;
}

/** The precomputed range covering [t0Ms, t1Ms]: the nearest cuts at or outside the selection. */
export function snapRange(temporal: TemporalRanges, t0Ms: number, t1Ms: number): SparseRangeViews | undefined {
  const b = temporal.boundsMs;
  let from = 0;
  while (from + 1 < b.length - 1 && b[from + 1] <= t0Ms) from++;
  let to = b.length - 1;
  while (to - 1 > from && b[to - 1] >= t1Ms) to--;
  return temporal.ranges.find((r) => r.from === from && r.to === to);
}

export interface ReportPayload {
  model: CaptureModel;
  initialView: ViewName;
  temporal: TemporalRanges | null;
  memviewVersion: string;
  /** Set when the model was pruned to fit the report: call paths worth less than this fraction of every total were folded into their callers. */
  foldedBelow?: number;
  /** Size of the capture file the report was made from (absent in older reports). */
  captureBytes?: number;
}
