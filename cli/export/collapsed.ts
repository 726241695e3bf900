// Collapsed ("folded") stacks, the input of flamegraph.pl and inferno: one line per stack,
// `outermost;...;innermost VALUE`, the value being the stack's own bytes (or allocations) in the
// chosen view. A frame reads `function (file:line)` for JavaScript, `function` for native code.
import { FrameKind, type CaptureModel, type NodeMetrics } from '../../viewer/model/types.js';
import { frameName } from '../../viewer/model/frame-text.js';
import { stackSamples } from './stack-samples.js';

/**
 * The collapsed lines, in pieces of about `pieceLength` characters each (whole lines): a large
 * capture's text does not fit in one JavaScript string (V8's limit is 512 MiB; a --native capture
 * of 24 workers made 698 MB of it, and the export died with "Invalid string length").
 */
export function* collapsedStacks(model: CaptureModel, metrics: NodeMetrics, weight: 'bytes' | 'count', pieceLength = 1 << 20): Generator<string> {
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
  let piece: string[] = [];
  let length = 0;
  for (const sample of stackSamples(model, [metrics])) {
    const value = values[sample.node];
    if (value <= 0) continue;
    const line = `${sample.frames.map(label).join(';')} ${value}\n`;
    piece.push(line);
    length += line.length;
    if (length >= pieceLength) {
      yield piece.join('');
      piece = [];
      length = 0;
    }
  }
  if (piece.length > 0) yield piece.join('');
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
