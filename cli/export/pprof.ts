// pprof: a gzip-compressed profile.proto (github.com/google/pprof, proto/profile.proto), the format
// `go tool pprof`, Pyroscope and Grafana read. Four sample types, in Go's heap-profile order:
// alloc_objects, alloc_space (everything allocated) and inuse_objects, inuse_space (the chosen view:
// live at the peak, leaked, or temporary). One location and one function per frame.
import { gzipSync } from 'node:zlib';
import type { CaptureModel, NodeMetrics } from '../../viewer/model/types.js';
import { ProtoWriter } from './protobuf.js';
import { stackSamples } from './stack-samples.js';

// profile.proto field numbers.
const Profile = { sampleType: 1, sample: 2, location: 4, function: 5, stringTable: 6, timeNanos: 9, durationNanos: 10, periodType: 11, period: 12, comment: 13, defaultSampleType: 14 } as const;
const ValueType = { type: 1, unit: 2 } as const;
const Sample = { locationId: 1, value: 2 } as const;
const Location = { id: 1, line: 4 } as const;
const Line = { functionId: 1, line: 2 } as const;
const Function = { id: 1, name: 2, systemName: 3, filename: 4, startLine: 5 } as const;

export const pprofSampleTypes = [
  ['alloc_objects', 'count'], ['alloc_space', 'bytes'], ['inuse_objects', 'count'], ['inuse_space', 'bytes'],
] as const;

export function pprofProfile(model: CaptureModel, inuse: NodeMetrics, inuseMeaning: string): Uint8Array {
  const strings = new Map<string, number>([['', 0]]);
  const stringId = (text: string) => {
    let id = strings.get(text);
    if (id === undefined) { id = strings.size; strings.set(text, id); }
    return id;
  };
  const allocated = model.views.allocated;
  const profile = new ProtoWriter();
  for (const [type, unit] of pprofSampleTypes) {
    profile.message(Profile.sampleType, (m) => m.integer(ValueType.type, stringId(type)).integer(ValueType.unit, stringId(unit)));
  }
  const usedFrames = new Set<number>();
  for (const sample of stackSamples(model, [allocated, inuse])) {
    const node = sample.node;
    // pprof lists a sample's locations leaf first.
    const locationIds = sample.frames.map((frame) => frame + 1).reverse();
    for (const frame of sample.frames) usedFrames.add(frame);
    profile.message(Profile.sample, (m) => m
      .packed(Sample.locationId, locationIds)
      .packed(Sample.value, [allocated.count[node], allocated.bytes[node], inuse.count[node], inuse.bytes[node]]));
  }
  const { frames } = model;
  const sortedFrames = [...usedFrames].sort((a, b) => a - b);
  for (const frame of sortedFrames) {
    profile.message(Profile.location, (m) => m
      .integer(Location.id, frame + 1)
      .message(Location.line, (line) => line.integer(Line.functionId, frame + 1).integer(Line.line, frames.line[frame])));
  }
  for (const frame of sortedFrames) {
    const name = stringId(model.strings[frames.functionName[frame]] || '(anonymous)');
    profile.message(Profile.function, (m) => m
      .integer(Function.id, frame + 1)
      .integer(Function.name, name)
      .integer(Function.systemName, name)
      .integer(Function.filename, stringId(model.strings[frames.file[frame]] ?? ''))
      .integer(Function.startLine, frames.line[frame]));
  }
  const comment = stringId(`memview: inuse_* = ${inuseMeaning}; alloc_* = everything allocated`);
  const periodType = [stringId('space'), stringId('bytes')];
  const defaultType = stringId('inuse_space');
  for (const text of strings.keys()) profile.string(Profile.stringTable, text);
  profile
    .integer(Profile.timeNanos, BigInt(Math.round(model.meta.startTimeUnixMs)) * 1_000_000n)
    .integer(Profile.durationNanos, BigInt(Math.round(model.meta.durationMs * 1e6)))
    .message(Profile.periodType, (m) => m.integer(ValueType.type, periodType[0]).integer(ValueType.unit, periodType[1]))
    .integer(Profile.period, 1)
    .packed(Profile.comment, [comment])
    .integer(Profile.defaultSampleType, defaultType);
  return gzipSync(profile.bytes);
}
