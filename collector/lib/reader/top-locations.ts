// The source locations that allocated most, for `memview stats`: every allocation is charged to
// the innermost JavaScript frame of its stack (the line of the program that caused it), or to the
// innermost frame when the stack has no JavaScript.
import { FrameKind, type CallTree, type FrameTable, type LocationFigure, type NodeMetrics } from '../../../viewer/model/types.js';

export interface RankedLocations {
  byBytes: LocationFigure[];
  byCount: LocationFigure[];
}

export function topLocations(
  tree: CallTree, frames: FrameTable, strings: string[], allocated: NodeMetrics, limit: number,
): RankedLocations {
  const isJavaScript = (frame: number): boolean =>
    frame >= 0 && (frames.kind[frame] === FrameKind.UserJs || frames.kind[frame] === FrameKind.NodeModules
      || frames.kind[frame] === FrameKind.NodeInternal);
  // Parents come before children, so one forward pass finds every node's innermost JS frame.
  const innermostJsFrame = new Int32Array(tree.count).fill(-1);
  const figures = new Map<string, LocationFigure>();
  for (let node = 1; node < tree.count; node++) {
    const frame = tree.frame[node];
    innermostJsFrame[node] = isJavaScript(frame) ? frame : innermostJsFrame[tree.parent[node]];
    const count = allocated.count[node];
    if (count === 0) continue;
    const locationFrame = innermostJsFrame[node] >= 0 ? innermostJsFrame[node] : frame;
    const figure: LocationFigure = {
      function: strings[frames.functionName[locationFrame]],
      file: strings[frames.file[locationFrame]],
      line: frames.line[locationFrame],
      bytes: 0,
      count: 0,
    };
    const key = `${figure.function}\0${figure.file}\0${figure.line}`;
    const existing = figures.get(key) ?? figure;
    existing.bytes += allocated.bytes[node];
    existing.count += count;
    figures.set(key, existing);
  }
  const all = [...figures.values()];
  const byName = (a: LocationFigure, b: LocationFigure) =>
    a.function.localeCompare(b.function) || a.file.localeCompare(b.file) || a.line - b.line;
  return {
    byBytes: [...all].sort((a, b) => b.bytes - a.bytes || b.count - a.count || byName(a, b)).slice(0, limit),
    byCount: [...all].sort((a, b) => b.count - a.count || b.bytes - a.bytes || byName(a, b)).slice(0, limit),
  };
}
