// A capture whose process was killed before it wrote its SYMBOL records (docs/collector.md,
// "Endings") shows every native frame as `library+0xoffset`. The CLI and the viewer point at
// `memview symbolize`, which names them from the machine's object files.
import { FrameKind, type CaptureModel } from './types.js';

/**
 * True when the model has native frames in loaded objects and none of them is named. Once a
 * capture is named, a few frames stay `library+0xoffset` for good (functions that no symbol
 * table of their object names), so one named frame is enough to say it was.
 */
export function nativeFramesAllUnnamed(model: Pick<CaptureModel, 'frames' | 'strings'>): boolean {
  const { functionName, kind } = model.frames;
  let unnamed = 0;
  for (let frame = 0; frame < kind.length; frame++) {
    const name = model.strings[functionName[frame]] ?? '';
    if (kind[frame] !== FrameKind.Native || name.startsWith('[unknown ')) continue;  // in no object: nothing to name it from
    if (!/\+0x[0-9a-f]+$/.test(name)) return false;
    unnamed++;
  }
  return unnamed > 0;
}
