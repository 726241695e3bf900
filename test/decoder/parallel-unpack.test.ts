// The unpacking pipeline: chunks checked and decompressed by another engine instance (another
// worker in the CLI) while the session aggregates must give the very same model, and the very same
// error for the first bad chunk in file order, as decoding everything in one place.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CaptureModel } from '../../viewer/model/types.js';
import { InProcessUnpacker } from '../../wasm/host/chunk-unpacker.js';
import { DecodeSession } from '../../wasm/host/decode-session.js';
import { instantiateDecoder } from '../../wasm/host/decoder-instance.js';
import { compiledDecoder } from '../../wasm/host/node-wasm.js';
import { piecesOf } from '../support/synthetic-capture.js';
import { chunksOf, resealChecksum } from './capture-surgery.js';
import { engineDecode, outcome } from './decode-bytes.js';
import { randomCapture } from './random-capture.js';

async function unpackedDecode(bytes: Uint8Array, temporaryThreshold = 1): Promise<CaptureModel> {
  const session = await DecodeSession.create(await compiledDecoder());
  const unpacker = new InProcessUnpacker(await instantiateDecoder(await compiledDecoder()));
  return session.decode(piecesOf(bytes, 4099), bytes.length, { temporaryThreshold, unpacker });
}

function errorSummary(result: CaptureModel | Error): string {
  if (!(result instanceof Error)) return 'no error';
  const { name, message, offset, chunk } = result as Error & { offset?: number; chunk?: number };
  return JSON.stringify({ name, message, offset, chunk });
}

describe('decoding with chunks unpacked elsewhere', () => {
  it('gives the same model as decoding in one place, LZ4, DEFLATE and stored, at N=1 and N=3', async () => {
    for (const [seed, codec] of [[21, 'lz4'], [22, 'stored'], [23, 'deflate']] as const) {
      const bytes = randomCapture(seed, { events: 6000, codec });
      expect(chunksOf(bytes).length).toBeGreaterThan(2);
      for (const threshold of [1, 3]) {
        expect(await unpackedDecode(bytes, threshold)).toEqual(await engineDecode(bytes, threshold));
      }
    }
  });

  it('reports the first bad chunk in file order, even when a later chunk is broken too', async () => {
    const bytes = randomCapture(24, { events: 6000, codec: 'lz4' });
    const chunks = chunksOf(bytes).filter((chunk) => chunk.kind === 1);
    // Chunk 1 fails its checksum; chunk 2's header is garbage. Chunk 1 must be named.
    const damaged = bytes.slice();
    damaged[chunks[1].payloadOffset + 3] ^= 0x40;
    damaged.set([0x58, 0x58, 0x58, 0x58], chunks[2].headerOffset);
    const plain = await outcome(() => engineDecode(damaged));
    const piped = await outcome(() => unpackedDecode(damaged));
    expect(errorSummary(plain)).toMatch(/checksum mismatch/);
    expect(errorSummary(piped)).toBe(errorSummary(plain));
    // Malformed LZ4 behind a valid checksum.
    const malformed = bytes.slice();
    malformed.fill(0xff, chunks[1].payloadOffset, chunks[1].payloadOffset + 8);
    resealChecksum(malformed, chunks[1]);
    const plainLz4 = await outcome(() => engineDecode(malformed));
    expect(errorSummary(plainLz4)).toMatch(/LZ4|chunk 1/);
    expect(errorSummary(await outcome(() => unpackedDecode(malformed)))).toBe(errorSummary(plainLz4));
  });

  it('a capture cut inside a chunk yields the same truncated model', async () => {
    const bytes = randomCapture(25, { events: 6000, codec: 'lz4' });
    const chunks = chunksOf(bytes);
    const cut = bytes.subarray(0, chunks[3].payloadOffset + 10);
    const piped = await unpackedDecode(cut);
    expect(piped.meta.truncated).toBe(true);
    expect(piped).toEqual(await engineDecode(cut));
  });

  const built = new URL('../../dist/wasm/host/node-engine.js', import.meta.url);
  const unpackWorker = new URL('../../dist/wasm/host/node-unpack-worker.js', import.meta.url);
  it.skipIf(!existsSync(built) || !existsSync(unpackWorker))('from the build output, a second worker thread does the unpacking', async () => {
    const engine = (await import(built.href)) as typeof import('../../wasm/host/node-engine.js');
    const bytes = randomCapture(26, { events: 8000, codec: 'lz4' });
    const path = join(mkdtempSync(join(tmpdir(), 'memview-unpack-')), 'capture.bin');
    writeFileSync(path, bytes);
    const parallel = await engine.decodeCaptureFile(path, { parallelUnpack: true });
    const serial = await engine.decodeCaptureFile(path, { parallelUnpack: false });
    expect(parallel).toEqual(serial);
    const damaged = bytes.slice();
    damaged[chunksOf(bytes)[2].payloadOffset + 1] ^= 1;
    writeFileSync(path, damaged);
    const error = await engine.decodeCaptureFile(path, { parallelUnpack: true }).catch((e: unknown) => e as Error);
    expect(error.name).toBe('CaptureError');
    expect(error.message).toMatch(/^chunk 2 at offset \d+: checksum mismatch/);
  });
});
