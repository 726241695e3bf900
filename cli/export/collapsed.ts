// Collapsed ("folded") stacks, the input of flamegraph.pl and inferno: one line per stack,
// `outermost;...;innermost VALUE`, the value being the stack's own bytes (or allocations) in the
// chosen view. A frame reads `function (file:line)` for JavaScript, `function` for native code.
import { FrameKind, type CaptureModel, type NodeMetrics } from '../../viewer/model/types.js';
import { frameName } from '../../viewer/model/frame-text.js';
import { stackSamples } from './stack-samples.js';

export function collapsedStacks(model: CaptureModel, metrics: NodeMetrics, weight: 'bytes' | 'count'): string {
  const labels = new Map<number, string>();
  const label = (frame: number) => {
    let text = labels.get(frame);
    if (text === undefined) {
      text = collapsedFrameLabel(model, frame);
      labels.set(frame, text);
    }
    return text;
  };
  const values = weight === 'bytes' ? metrics.bytes : metrics.count;
  const lines: string[] = [];
  for (const sample of stackSamples(model, [metrics])) {
    const value = values[sample.node];
    if (value > 0) lines.push(`${sample.frames.map(label).join(';')} ${value}`);
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

function collapsedFrameLabel(model: CaptureModel, frame: number): string {
  const { frames, strings } = model;
  let text = frameName(model, frame);
  const kind = frames.kind[frame];
  const file = strings[frames.file[frame]];
  if (file && (kind === FrameKind.UserJs || kind === FrameKind.NodeModules || kind === FrameKind.NodeInternal)) {
    text += frames.line[frame] > 0 ? ` (${file}:${frames.line[frame]})` : ` (${file})`;
  }
  // `;` separates frames and a line break ends the stack: neither may appear inside a frame.
  return text.replace(/;/g, ':').replace(/[\r\n]+/g, ' ');
}
