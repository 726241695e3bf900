// Shrinks a model for a report with a size budget: call-tree nodes worth less than `keepFraction`
// of the root in every view (bytes and counts) are folded into their nearest kept ancestor, so
// every total stays exact and only the finest detail goes. Unused frames and strings go too.
import type { CaptureModel, NodeMetrics } from './types.js';
import { subtreeTotals } from './view-tree.js';

export function pruneModel(model: CaptureModel, keepFraction: number): CaptureModel {
  return pruneModelMapped(model, keepFraction).model;
}

/** pruneModel, also giving each old call-tree node's new index (its own, or its kept ancestor's). */
export function pruneModelMapped(model: CaptureModel, keepFraction: number): { model: CaptureModel; newId: Int32Array } {
  const { tree } = model;
  const n = tree.count;
  const keep = new Uint8Array(n);
  keep[0] = 1;
  const viewNames = Object.keys(model.views) as (keyof CaptureModel['views'])[];
  for (const name of viewNames) {
    for (const values of [model.views[name].bytes, model.views[name].count]) {
      const total = subtreeTotals(tree.parent, values, n);
      const threshold = total[0] * keepFraction;
      for (let i = 1; i < n; i++) if (total[i] > 0 && total[i] >= threshold) keep[i] = 1;
    }
  }
  const newId = new Int32Array(n);
  let kept = 0;
  for (let i = 0; i < n; i++) newId[i] = keep[i] ? kept++ : newId[tree.parent[i]]; // parent[i] < i
  const parent = new Int32Array(kept);
  const frame = new Int32Array(kept);
  for (let i = 0; i < n; i++) {
    if (!keep[i]) continue;
    parent[newId[i]] = i === 0 ? -1 : newId[tree.parent[i]];
    frame[newId[i]] = tree.frame[i];
  }
  const fold = (m: NodeMetrics): NodeMetrics => {
    const bytes = new Float64Array(kept), count = new Float64Array(kept);
    for (let i = 0; i < n; i++) { bytes[newId[i]] += m.bytes[i]; count[newId[i]] += m.count[i]; }
    return { bytes, count };
  };
  // Renumber frames and strings to those still referenced.
  const frameMap = new Int32Array(model.frames.count).fill(-1);
  let frameCount = 0;
  for (let i = 0; i < kept; i++) if (frame[i] >= 0 && frameMap[frame[i]] < 0) frameMap[frame[i]] = frameCount++;
  const stringMap = new Map<number, number>([[0, 0]]);
  const strings = [''];
  const str = (id: number) => {
    let s = stringMap.get(id);
    if (s === undefined) { s = strings.length; strings.push(model.strings[id]); stringMap.set(id, s); }
    return s;
  };
  const f = model.frames;
  const frames = {
    count: frameCount,
    functionName: new Int32Array(frameCount), file: new Int32Array(frameCount), line: new Int32Array(frameCount),
    column: new Int32Array(frameCount), kind: new Uint8Array(frameCount),
  };
  for (let old = 0; old < f.count; old++) {
    const k = frameMap[old];
    if (k < 0) continue;
    frames.functionName[k] = str(f.functionName[old]);
    frames.file[k] = str(f.file[old]);
    frames.line[k] = f.line[old];
    frames.column[k] = f.column[old];
    frames.kind[k] = f.kind[old];
  }
  for (let i = 0; i < kept; i++) if (frame[i] >= 0) frame[i] = frameMap[frame[i]];
  const views = Object.fromEntries(viewNames.map((name) => [name, fold(model.views[name])])) as CaptureModel['views'];
  return { model: { ...model, strings, frames, tree: { count: kept, parent, frame }, views }, newId };
}
