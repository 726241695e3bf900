// The browser host for real: a page built by Vite (worker and wasm inlined, as the viewer builds
// it) decodes a capture Blob in its Web Worker through comlink, reports progress, answers a range
// query, and gives the reference reader's stats.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'vite';
import { viteSingleFile } from 'vite-plugin-singlefile';
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { randomCapture } from './random-capture.js';
import { referenceDecode } from './decode-bytes.js';

const browserEngine = new URL('../../wasm/host/browser-engine.ts', import.meta.url).pathname;
// Debian's chromium, driven by playwright-core (never a downloaded browser).
const chromiumPath = process.env.MEMVIEW_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(chromiumPath);
const launchChromium = () => chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu'] });

async function buildTestPage(): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'memview-browser-decoder-'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><html><body><script type="module" src="./main.ts"></script></body></html>');
  writeFileSync(join(root, 'main.ts'), `
    import { createBrowserDecoder } from ${JSON.stringify(browserEngine)};
    (window as any).decodeBytes = async (bytes: number[], parallelUnpack = false) => {
      const decoder = createBrowserDecoder();
      const progress: number[] = [];
      const model = await decoder.decode(new Blob([new Uint8Array(bytes)]), { temporaryThreshold: 1, parallelUnpack }, (done) => { progress.push(done); });
      const range = await decoder.rangeViews(0, model.meta.durationMs);
      decoder.terminate();
      const sum = (values: Float64Array) => values.reduce((a, b) => a + b, 0);
      return { stats: model.stats, treeCount: model.tree.count, lastProgress: progress[progress.length - 1],
        peakIsTyped: model.views.peak.bytes instanceof Float64Array, rangePeak: sum(range.peak.bytes), peak: sum(model.views.peak.bytes) };
    };
    document.title = 'ready';
  `);
  await build({
    root, configFile: false, logLevel: 'error', plugins: [viteSingleFile()], worker: { format: 'iife' },
    build: { outDir: join(root, 'out'), assetsInlineLimit: 100_000_000, target: 'es2022', modulePreload: false },
  });
  return pathToFileURL(join(root, 'out', 'index.html')).href;
}

describe.skipIf(!hasChromium)('browser engine (Web Worker + comlink, built by Vite)', () => {
  it('decodes a Blob in the worker like the reference reader and answers a range query', async () => {
    const bytes = randomCapture(11, { events: 4000, codec: 'lz4' });
    const url = await buildTestPage();
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(url);
      await page.waitForFunction(() => document.title === 'ready');
      const result = await page.evaluate((data) => (window as unknown as { decodeBytes(d: number[]): Promise<unknown> }).decodeBytes(data), [...bytes]) as {
        stats: unknown; treeCount: number; lastProgress: number; peakIsTyped: boolean; rangePeak: number; peak: number;
      };
      const reference = await referenceDecode(bytes);
      expect(result.stats).toEqual(JSON.parse(JSON.stringify(reference.stats)));
      expect(result.treeCount).toBe(reference.tree.count);
      expect(result.lastProgress).toBe(bytes.length);
      expect(result.peakIsTyped).toBe(true);
      expect(result.rangePeak).toBe(result.peak);
      // The same with a nested worker checking and decompressing the chunks.
      const parallel = await page.evaluate((data) => (window as unknown as { decodeBytes(d: number[], p: boolean): Promise<unknown> }).decodeBytes(data, true), [...bytes]);
      expect(parallel).toEqual(result);
    } finally {
      await browser.close();
    }
  }, 120_000);
});
