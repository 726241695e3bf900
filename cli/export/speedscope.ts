// speedscope's JSON file format (https://www.speedscope.app/file-format-schema.json): shared frames
// and two "sampled" profiles over the chosen view, one weighted by bytes, one by allocations. Each
// sample is a stack (frame indices, outermost first) with its own value as weight.
import { FrameKind, type CaptureModel, type NodeMetrics } from '../../viewer/model/types.js';
import { frameName } from '../../viewer/model/frame-text.js';
import { stackSamples } from './stack-samples.js';

export const SPEEDSCOPE_SCHEMA = 'https://www.speedscope.app/file-format-schema.json';

export interface SpeedscopeFrame { name: string; file?: string; line?: number; col?: number }
export interface SpeedscopeSampledProfile {
  type: 'sampled';
  name: string;
  unit: 'bytes' | 'none';
  startValue: number;
  endValue: number;
  samples: number[][];
  weights: number[];
}
export interface SpeedscopeFile {
  $schema: typeof SPEEDSCOPE_SCHEMA;
  shared: { frames: SpeedscopeFrame[] };
  profiles: SpeedscopeSampledProfile[];
  name: string;
  activeProfileIndex: number;
  exporter: string;
}

export function speedscopeFile(model: CaptureModel, metrics: NodeMetrics, viewTitle: string, name: string, exporter: string): SpeedscopeFile {
  const sharedIndex = new Map<number, number>();
  const frames: SpeedscopeFrame[] = [];
  const indexOf = (frame: number) => {
    let index = sharedIndex.get(frame);
    if (index === undefined) {
      index = frames.length;
      sharedIndex.set(frame, index);
      frames.push(speedscopeFrame(model, frame));
    }
    return index;
  };
  const samples = stackSamples(model, [metrics]);
  const stacks = samples.map((sample) => sample.frames.map(indexOf));
  const profile = (unit: 'bytes' | 'none', values: Float64Array, title: string): SpeedscopeSampledProfile => {
    const kept = samples.map((sample, i) => i).filter((i) => values[samples[i].node] > 0);
    const weights = kept.map((i) => values[samples[i].node]);
    return {
      type: 'sampled', name: `${viewTitle}: ${title}`, unit, startValue: 0,
      endValue: weights.reduce((total, weight) => total + weight, 0),
      samples: kept.map((i) => stacks[i]), weights,
    };
  };
  return {
    $schema: SPEEDSCOPE_SCHEMA,
    shared: { frames },
    profiles: [profile('bytes', metrics.bytes, 'bytes'), profile('none', metrics.count, 'allocations')],
    name,
    activeProfileIndex: 0,
    exporter,
  };
}

function speedscopeFrame(model: CaptureModel, frame: number): SpeedscopeFrame {
  const { frames, strings } = model;
  const out: SpeedscopeFrame = { name: frameName(model, frame) };
  const file = strings[frames.file[frame]];
  if (file && frames.kind[frame] !== FrameKind.Thread) out.file = file;
  if (frames.line[frame] > 0) out.line = frames.line[frame];
  if (frames.column[frame] > 0) out.col = frames.column[frame];
  return out;
}
