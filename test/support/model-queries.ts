// Questions tests ask of a CaptureModel, in the words of a user looking at a view.
import { readCapture, type ReadOptions } from '../../collector/lib/reader/index.js';
import type { CaptureModel, NodeMetrics } from '../../viewer/model/types.js';
import { piecesOf, type SyntheticCapture, type ToBytesOptions } from './synthetic-capture.js';

export type ViewName = keyof CaptureModel['views'];

export async function readSynthetic(capture: SyntheticCapture, options: ReadOptions & ToBytesOptions & { pieceBytes?: number } = {}): Promise<CaptureModel> {
  const bytes = capture.toBytes(options);
  return readCapture(piecesOf(bytes, options.pieceBytes ?? 64), bytes.length, options);
}

export function functionNameOf(model: CaptureModel, node: number): string {
  return model.strings[model.frames.functionName[model.tree.frame[node]]];
}

/** The call path of a node, outermost first, thread node included, root excluded. */
export function pathOf(model: CaptureModel, node: number): string[] {
  const path: string[] = [];
  for (let n = node; n > 0; n = model.tree.parent[n]) path.unshift(functionNameOf(model, n));
  return path;
}

/** Self figures of a view per call path ("thread 1 (main) > main > load"), zero rows left out. */
export function viewByPath(model: CaptureModel, view: ViewName): Record<string, { bytes: number; count: number }> {
  const metrics: NodeMetrics = model.views[view];
  const rows: Record<string, { bytes: number; count: number }> = {};
  for (let node = 0; node < model.tree.count; node++) {
    if (metrics.bytes[node] === 0 && metrics.count[node] === 0) continue;
    rows[pathOf(model, node).join(' > ')] = { bytes: metrics.bytes[node], count: metrics.count[node] };
  }
  return rows;
}

/** Self bytes of a view summed by the innermost function name. */
export function bytesByFunction(model: CaptureModel, view: ViewName): Record<string, number> {
  const metrics = model.views[view];
  const totals: Record<string, number> = {};
  for (let node = 1; node < model.tree.count; node++) {
    if (metrics.bytes[node] === 0) continue;
    const name = functionNameOf(model, node);
    totals[name] = (totals[name] ?? 0) + metrics.bytes[node];
  }
  return totals;
}

export function totalOf(model: CaptureModel, view: ViewName): { bytes: number; count: number } {
  const metrics = model.views[view];
  return {
    bytes: metrics.bytes.reduce((sum, value) => sum + value, 0),
    count: metrics.count.reduce((sum, value) => sum + value, 0),
  };
}
