// The bytes a report embeds: any plain value (a CaptureModel, report options...) with its typed
// arrays packed compactly, then deflated and base64-encoded. Works in node (the CLI writes it) and
// in the browser (the page reads it) with CompressionStream/DecompressionStream, no dependency.
//
// Layout before deflate: u32 length of a JSON header, the header, then one binary section. In the
// header each typed array is replaced by { $ta: type, enc, offset, byteLength, length }.
// Integer-valued float64 arrays (bytes and counts: mostly zeros and small numbers) and int32 arrays
// (tree links, string ids) are written as LEB128 varints, of the zigzag delta from the previous
// element for int32; everything else is raw little-endian.

type TypedArrayName = 'Int32Array' | 'Uint8Array' | 'Float64Array' | 'Uint32Array' | 'Float32Array';
type Packed = { $ta: TypedArrayName; enc: 'raw' | 'uvarint' | 'zdelta'; offset: number; byteLength: number; length: number };

const constructors = { Int32Array, Uint8Array, Float64Array, Uint32Array, Float32Array };

class ByteWriter {
  bytes = new Uint8Array(1 << 16);
  length = 0;
  reserve(extra: number) {
    if (this.length + extra <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
  uvarint(value: number) {
    this.reserve(10);
    while (value >= 128) {
      this.bytes[this.length++] = (value % 128) | 128;
      value = Math.floor(value / 128);
    }
    this.bytes[this.length++] = value;
  }
  raw(data: Uint8Array) {
    this.reserve(data.length + 8);
    while (this.length % 8) this.bytes[this.length++] = 0;
    this.bytes.set(data, this.length);
    this.length += data.length;
  }
}

function isNonNegativeIntegers(a: Float64Array): boolean {
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (!(v >= 0 && v <= Number.MAX_SAFE_INTEGER && Math.floor(v) === v)) return false;
  }
  return true;
}

function pack(value: unknown, out: ByteWriter): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const name = value.constructor.name as TypedArrayName;
    if (!(name in constructors)) throw new Error(`cannot pack a ${name}`);
    const array = value as unknown as ArrayLike<number> & ArrayBufferView;
    let offset: number;
    let enc: Packed['enc'] = 'raw';
    if (array instanceof Int32Array) {
      enc = 'zdelta';
      offset = out.length;
      let previous = 0;
      for (let i = 0; i < array.length; i++) {
        const d = array[i] - previous;
        previous = array[i];
        out.uvarint(d >= 0 ? d * 2 : -d * 2 - 1);
      }
    } else if (array instanceof Float64Array && isNonNegativeIntegers(array)) {
      enc = 'uvarint';
      offset = out.length;
      for (let i = 0; i < array.length; i++) out.uvarint(array[i]);
    } else {
      out.raw(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
      offset = out.length - array.byteLength;
    }
    const packed: Packed = { $ta: name, enc, offset, byteLength: out.length - offset, length: array.length };
    return packed;
  }
  if (Array.isArray(value)) return value.map((v) => pack(v, out));
  if (value && typeof value === 'object') {
    const result: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) result[k] = pack(v, out);
    return result;
  }
  return value;
}

function unpack(value: unknown, section: Uint8Array): unknown {
  if (Array.isArray(value)) return value.map((v) => unpack(v, section));
  if (value && typeof value === 'object') {
    const p = value as Packed;
    if (typeof p.$ta === 'string') {
      const Ctor = constructors[p.$ta];
      if (!Ctor) throw new Error(`unknown array type ${p.$ta}`);
      const end = p.offset + p.byteLength;
      if (!(p.offset >= 0 && end <= section.length && p.length >= 0 && (p.enc !== 'raw' || p.byteLength === p.length * Ctor.BYTES_PER_ELEMENT))) {
        throw new Error(`an array runs past the end of the data (bytes ${p.offset} to ${end} of ${section.length})`);
      }
      const array = new Ctor(p.length);
      let at = p.offset;
      const readVarint = () => {
        let result = 0, scale = 1, byte: number;
        do {
          if (at >= end) throw new Error(`an array's numbers run past its end (byte ${end})`);
          byte = section[at++];
          result += (byte & 127) * scale;
          scale *= 128;
        } while (byte & 128);
        return result;
      };
      if (p.enc === 'zdelta') {
        let previous = 0;
        for (let i = 0; i < p.length; i++) {
          const z = readVarint();
          previous += z % 2 ? -(z + 1) / 2 : z / 2;
          array[i] = previous;
        }
      } else if (p.enc === 'uvarint') {
        for (let i = 0; i < p.length; i++) array[i] = readVarint();
      } else {
        new Uint8Array(array.buffer).set(section.subarray(p.offset, p.offset + p.byteLength));
      }
      return array;
    }
    const result: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) result[k] = unpack(v, section);
    return result;
  }
  return value;
}

async function pipeThrough(bytes: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const response = new Response(new Blob([bytes as BlobPart]).stream().pipeThrough(stream));
  return new Uint8Array(await response.arrayBuffer());
}

export async function encodePayload(value: unknown): Promise<Uint8Array> {
  const section = new ByteWriter();
  const header = new TextEncoder().encode(JSON.stringify(pack(value, section)));
  const plain = new Uint8Array(4 + header.length + section.length);
  new DataView(plain.buffer).setUint32(0, header.length, true);
  plain.set(header, 4);
  plain.set(section.bytes.subarray(0, section.length), 4 + header.length);
  return pipeThrough(plain, new CompressionStream('deflate-raw'));
}

export async function decodePayload<T>(compressed: Uint8Array): Promise<T> {
  const plain = await pipeThrough(compressed, new DecompressionStream('deflate-raw'));
  const headerLength = new DataView(plain.buffer, plain.byteOffset).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(plain.subarray(4, 4 + headerLength)));
  return unpack(header, plain.subarray(4 + headerLength)) as T;
}

/** A report page's payload that cannot be decoded: the file was cut short or altered. */
export class DamagedPayloadError extends Error {
  constructor(reason: string) {
    super(`this report file is damaged or incomplete (${reason}); generate it again with memview report`);
  }
}

/** The payload embedded in a report page, as base64 text; a DamagedPayloadError says why it cannot be read. */
export async function decodeEmbeddedPayload<T>(text: string): Promise<T> {
  const stray = /[^A-Za-z0-9+/=\s]/.exec(text);
  if (stray) throw new DamagedPayloadError(`the embedded data holds '${stray[0]}' at character ${stray.index}, which base64 does not use`);
  let plain: Uint8Array;
  try {
    plain = await pipeThrough(fromBase64(text), new DecompressionStream('deflate-raw'));
  } catch {
    // The browser's stream error says only "Failed to fetch", which reads like a network problem.
    throw new DamagedPayloadError('the embedded data does not decompress: it is cut short or altered');
  }
  const headerLength = plain.length >= 4 ? new DataView(plain.buffer, plain.byteOffset).getUint32(0, true) : -1;
  if (headerLength < 0 || 4 + headerLength > plain.length) throw new DamagedPayloadError('the embedded data ends inside its header');
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(plain.subarray(4, 4 + headerLength)));
  } catch {
    throw new DamagedPayloadError('the header of the embedded data is not valid JSON');
  }
  try {
    return unpack(header, plain.subarray(4 + headerLength)) as T;
  } catch (error) {
    throw new DamagedPayloadError(error instanceof Error ? error.message : String(error));
  }
}

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function toBase64(bytes: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += 3 * 4096) {
    let chunk = '';
    const end = Math.min(bytes.length, i + 3 * 4096);
    for (let j = i; j < end; j += 3) {
      const a = bytes[j], b = j + 1 < end ? bytes[j + 1] : 0, c = j + 2 < end ? bytes[j + 2] : 0;
      chunk += alphabet[a >> 2] + alphabet[((a & 3) << 4) | (b >> 4)] + (j + 1 < end ? alphabet[((b & 15) << 2) | (c >> 6)] : '=') + (j + 2 < end ? alphabet[c & 63] : '=');
    }
    parts.push(chunk);
  }
  return parts.join('');
}

export function fromBase64(text: string): Uint8Array {
  const lookup = new Uint8Array(128);
  for (let i = 0; i < alphabet.length; i++) lookup[alphabet.charCodeAt(i)] = i;
  const clean = text.replace(/[^A-Za-z0-9+/]/g, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let o = 0;
  for (let i = 0; i < clean.length; i += 4) {
    const a = lookup[clean.charCodeAt(i)], b = lookup[clean.charCodeAt(i + 1)];
    const c = lookup[clean.charCodeAt(i + 2)], d = lookup[clean.charCodeAt(i + 3)];
    out[o++] = (a << 2) | (b >> 4);
    if (i + 2 < clean.length) out[o++] = ((b & 15) << 4) | (c >> 2);
    if (i + 3 < clean.length) out[o++] = ((c & 3) << 6) | d;
  }
  return out.subarray(0, o);
}
