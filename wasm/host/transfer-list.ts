// The buffers of a CaptureModel, to move it between threads without copying.
import type { CaptureModel } from '../../viewer/model/types.js';

export function modelTransferList(model: CaptureModel): ArrayBuffer[] {
  const arrays = [
    model.frames.functionName, model.frames.file, model.frames.line, model.frames.column, model.frames.kind,
    model.tree.parent, model.tree.frame,
    ...Object.values(model.views).flatMap((view) => [view.bytes, view.count]),
    model.timeline.timeMs, model.timeline.trackedBytes, model.timeline.heapBytes, model.timeline.rssBytes,
  ];
  const buffers = new Set<ArrayBuffer>();
  for (const array of arrays) buffers.add(array.buffer as ArrayBuffer);
  return [...buffers];
}
