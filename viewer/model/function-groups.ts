// Which frames are lines of one function. A frame is a function at one place (the line of the call
// or allocation in it), so a function that allocates from three lines is three frames; tables
// that list whole functions key their rows by the group instead. Frames are one function when their
// kind, name and file agree. Anonymous functions stay apart (two closures of one file would
// otherwise read as one), and so do frames without a name.
import { FrameKind, type CaptureModel } from './types.js';

/** For every frame, the first frame of its function: frames with the same entry are one function. */
export function functionGroups(model: Pick<CaptureModel, 'frames' | 'strings'>): Int32Array {
  const { frames, strings } = model;
  const groups = new Int32Array(frames.count);
  const firstOf = new Map<string, number>();
  for (let frame = 0; frame < frames.count; frame++) {
    groups[frame] = frame;
    const name = strings[frames.functionName[frame]] ?? '';
    if (frames.kind[frame] === FrameKind.Thread || name === '' || name === '(anonymous)') continue;
    const key = `${frames.kind[frame]}\0${name}\0${frames.file[frame]}`;
    const first = firstOf.get(key);
    if (first === undefined) firstOf.set(key, frame);
    else groups[frame] = first;
  }
  return groups;
}
