// A capture whose process was killed before the end of its run has only the SYMBOL records the
// collector wrote while it ran (docs/collector.md, "Naming native frames"): the frames it met late
// show as `library+0xoffset`. The CLI and the viewer point at `memview symbolize`, which names
// them from the machine's object files, once.
import { FrameKind, type CaptureModel } from './types.js';

/**
 * True when a truncated capture's native frames in loaded objects are not all named and nothing
 * named them after its process died. (A few frames stay `library+0xoffset` for good: functions
 * that no symbol table of their object names.) For a model made before the capture said whether
 * it was named afterwards: when none of them is named.
 */
export function nativeFramesLeftUnnamed(model: Pick<CaptureModel, 'frames' | 'strings' | 'meta'>): boolean {
  if (model.meta.framesNamedAfterwards) return false;
  const { functionName, kind } = model.frames;
  let named = 0;
  let unnamed = 0;
  for (let frame = 0; frame < kind.length; frame++) {
    const name = model.strings[functionName[frame]] ?? '';
    if (kind[frame] !== FrameKind.Native || name.startsWith('[unknown ')) continue;  // in no object: nothing to name it from
    if (/\+0x[0-9a-f]+$/.test(name)) unnamed++;
    else named++;
  }
  return model.meta.framesNamedAfterwards === undefined ? unnamed > 0 && named === 0 : unnamed > 0;
}
