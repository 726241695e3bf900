// decodeCaptureFile, the CLI's entry point: from the build output it decodes in a worker thread;
// both ways it gives the reference reader's model, reports progress, keeps range queries, and
// turns a bad file into a CaptureError.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureError } from '../../collector/lib/reader/capture-error.js';
import { readCaptureFile } from '../../collector/lib/reader/index.js';
import { NodeDecoder, decodeCaptureFile } from '../../wasm/host/node-engine.js';
import { randomCapture } from './random-capture.js';

const built = new URL('../../dist/wasm/host/node-engine.js', import.meta.url);

function captureFile(bytes: Uint8Array): string {
  const path = join(mkdtempSync(join(tmpdir(), 'memview-decoder-')), 'capture.bin');
  writeFileSync(path, bytes);
  return path;
}

describe('decodeCaptureFile', () => {
  it('decodes a file in-process from the sources, with progress up to the file size', async () => {
    const bytes = randomCapture(7, { events: 3000, codec: 'lz4' });
    const path = captureFile(bytes);
    const progress: number[] = [];
    const model = await decodeCaptureFile(path, { onProgress: (done, total) => { progress.push(done); expect(total).toBe(bytes.length); } });
    expect(model).toEqual(await readCaptureFile(path));
    expect(progress.at(-1)).toBe(bytes.length);
  });

  it.skipIf(!existsSync(built))('decodes in a worker thread from the build output, and answers range queries', async () => {
    const engine = (await import(built.href)) as typeof import('../../wasm/host/node-engine.js');
    const bytes = randomCapture(8, { events: 3000 });
    const path = captureFile(bytes);
    const decoder = new engine.NodeDecoder();
    try {
      const model = await decoder.decode(path, { temporaryThreshold: 2 });
      expect(model).toEqual(await readCaptureFile(path, { temporaryThreshold: 2 }));
      const range = await decoder.rangeViews(0, model.meta.durationMs);
      expect(range.peak.bytes).toEqual(model.views.peak.bytes);
      const error = await engine.decodeCaptureFile(captureFile(new Uint8Array([1, 2, 3]))).catch((e: unknown) => e);
      expect((error as Error).name).toBe('CaptureError');
    } finally {
      await decoder.close();
    }
  });

  it('turns a bad file into a CaptureError', async () => {
    const error = await decodeCaptureFile(captureFile(new TextEncoder().encode('not a capture at all'))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CaptureError);
    const inProcess = new NodeDecoder({ inProcess: true });
    await expect(inProcess.rangeViews(0, 1)).rejects.toThrow(/before decode/);
  });
});
