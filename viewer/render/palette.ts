// Colours of frames by FrameKind, varied a little per function so neighbours stay distinct.
import { FrameKind, type CaptureModel } from '../model/types.js';

/** Base colour of each kind as [r, g, b]; also shown in the legend. */
export const kindColours: Record<FrameKind, [number, number, number]> = {
  [FrameKind.UserJs]: [244, 164, 72],
  [FrameKind.NodeModules]: [140, 198, 96],
  [FrameKind.NodeInternal]: [150, 172, 196],
  [FrameKind.Native]: [232, 112, 104],
  [FrameKind.V8]: [178, 140, 214],
  [FrameKind.Thread]: [188, 188, 188],
};

export const rootColour: [number, number, number] = [210, 210, 210];

export function cssColour([r, g, b]: [number, number, number]): string {
  return `rgb(${r}, ${g}, ${b})`;
}

function pack(r: number, g: number, b: number): number {
  const c = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
  return ((0xff << 24) | (c(b) << 16) | (c(g) << 8) | c(r)) >>> 0;
}

/** Fill (0xAABBGGRR) of every frame of the model, plus one for the root at index `frames.count`. */
export function frameFills(model: CaptureModel): Uint32Array {
  const { frames } = model;
  const out = new Uint32Array(frames.count + 1);
  for (let f = 0; f < frames.count; f++) {
    const [r, g, b] = kindColours[frames.kind[f] as FrameKind] ?? rootColour;
    // A stable per-name shade in [-1, 1] from the string id's bits.
    let h = Math.imul(frames.functionName[f] + 0x9e3779b9, 0x85ebca6b);
    h ^= h >>> 13;
    const shade = ((h & 255) / 255) * 2 - 1;
    const k = 1 + shade * 0.12;
    out[f] = pack(r * k, g * k, b * k);
  }
  out[frames.count] = pack(...rootColour);
  return out;
}
