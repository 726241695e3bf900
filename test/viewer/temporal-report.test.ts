// `memview flamegraph --temporal`: the report carries views precomputed for pairs of cut points,
// and choosing a time range in the page re-aggregates the flame graph from them.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Browser } from 'playwright-core';
import { mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { run as flamegraph } from '../../cli/commands/flamegraph.js';
import { knownCapture, MiB } from './capture-fixture.js';
import { artifactsDir, buildViewer, hasChromium, launchChromium } from './browser-helpers.js';

if (!hasChromium) console.warn('SKIPPED: temporal report browser test needs /usr/bin/chromium (apt-get install chromium)');

describe.skipIf(!hasChromium)('temporal report', { timeout: 60_000 }, () => {
  let browser: Browser;
  let dir: string;
  beforeAll(async () => {
    buildViewer();
    dir = mkdtempSync(join(tmpdir(), 'memview-temporal-'));
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('re-aggregates the flame graph for a range chosen on the memory chart', async () => {
    const capture = join(dir, 'capture.bin');
    writeFileSync(capture, knownCapture());
    const out = join(dir, 'temporal.html');
    vi.spyOn(console, 'log').mockImplementation(() => {});
    const warnings: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((...args) => { warnings.push(args.join(' ')); });
    expect(await flamegraph(['--temporal', capture, '-o', out])).toBe(0);
    vi.restoreAllMocks();
    expect(warnings).toEqual([]);
    copyFileSync(out, join(artifactsDir, 'temporal-report.html'));

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(pathToFileURL(out).href);
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 20_000 });
    const total = () => page.evaluate(() => (window as unknown as { memview: { layout: { total: number } } }).memview.layout.total);
    expect(await total()).toBe(15 * MiB);
    const chart = (await page.locator('.mv-timeline canvas').boundingBox())!;
    const xAt = (ms: number) => chart.x + 64 + (ms / 100) * (chart.width - 64 - 12);
    const drag = async (fromMs: number, toMs: number) => {
      await page.mouse.move(xAt(fromMs), chart.y + 50);
      await page.mouse.down();
      await page.mouse.move(xAt(toMs), chart.y + 50, { steps: 5 });
      await page.mouse.up();
      await page.waitForTimeout(200);
    };
    await drag(62, 97); // snaps to 60–100 ms: parse's 4 MiB is gone by then
    expect(await page.locator('.mv-range').innerText()).toBe('range 60 ms – 100 ms (double-click to clear)');
    expect(await total()).toBe(11 * MiB);
    await page.screenshot({ path: join(artifactsDir, 'temporal-range.png') });
    await page.locator('select[aria-label=view]').selectOption('leaks');
    await drag(12, 28); // 10–30 ms: parse (15 ms) and the 1 MiB at 25 ms were allocated in it; parse is freed later
    await page.waitForTimeout(100);
    expect(await total()).toBe(5 * MiB);
    await page.mouse.dblclick(xAt(50), chart.y + 50);
    await page.waitForTimeout(200);
    expect(await total()).toBe(11 * MiB); // leaks of the whole run
    expect(problems).toEqual([]);
    await page.close();
  });
});
