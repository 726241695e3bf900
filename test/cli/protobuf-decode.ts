// A small protocol buffers decoder for the tests: reads a message into its fields, and a pprof
// profile.proto into plain objects, so exports are checked by parsing them back.

export type FieldValue = number | Uint8Array;

export function decodeFields(bytes: Uint8Array): Map<number, FieldValue[]> {
  const fields = new Map<number, FieldValue[]>();
  let at = 0;
  const varint = () => {
    let value = 0, scale = 1;
    for (;;) {
      if (at >= bytes.length) throw new Error('varint runs past the end');
      const byte = bytes[at++];
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if (byte < 0x80) return value;
    }
  };
  while (at < bytes.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    let value: FieldValue;
    if (wireType === 0) value = varint();
    else if (wireType === 2) {
      const length = varint();
      if (at + length > bytes.length) throw new Error('length-delimited field runs past the end');
      value = bytes.subarray(at, at + length);
      at += length;
    } else throw new Error(`unexpected wire type ${wireType}`);
    if (!fields.has(field)) fields.set(field, []);
    fields.get(field)!.push(value);
  }
  return fields;
}

export function packedVarints(value: FieldValue | undefined): number[] {
  if (value === undefined) return [];
  if (typeof value === 'number') return [value];
  const out: number[] = [];
  let current = 0, scale = 1;
  for (const byte of value) {
    current += (byte & 0x7f) * scale;
    scale *= 128;
    if (byte < 0x80) { out.push(current); current = 0; scale = 1; }
  }
  return out;
}

const int = (fields: Map<number, FieldValue[]>, field: number) => (fields.get(field)?.[0] as number | undefined) ?? 0;
const text = new TextDecoder();

export interface DecodedProfile {
  sampleTypes: { type: string; unit: string }[];
  samples: { locationIds: number[]; values: number[] }[];
  locations: Map<number, { functionId: number; line: number }[]>;
  functions: Map<number, { name: string; file: string; startLine: number }>;
  strings: string[];
  defaultSampleType: string;
  comments: string[];
}

export function decodeProfile(bytes: Uint8Array): DecodedProfile {
  const profile = decodeFields(bytes);
  const strings = (profile.get(6) ?? []).map((value) => text.decode(value as Uint8Array));
  const messages = (field: number) => (profile.get(field) ?? []).map((value) => decodeFields(value as Uint8Array));
  const functions = new Map(messages(5).map((f) => [int(f, 1), { name: strings[int(f, 2)], file: strings[int(f, 4)], startLine: int(f, 5) }]));
  const locations = new Map(messages(4).map((l) => [int(l, 1), (l.get(4) ?? []).map((line) => {
    const fields = decodeFields(line as Uint8Array);
    return { functionId: int(fields, 1), line: int(fields, 2) };
  })]));
  return {
    strings,
    sampleTypes: messages(1).map((t) => ({ type: strings[int(t, 1)], unit: strings[int(t, 2)] })),
    samples: messages(2).map((s) => ({
      locationIds: (s.get(1) ?? []).flatMap(packedVarints),
      values: (s.get(2) ?? []).flatMap(packedVarints),
    })),
    locations,
    functions,
    defaultSampleType: strings[int(profile, 14)],
    comments: (profile.get(13) ?? []).flatMap(packedVarints).map((id) => strings[id]),
  };
}
