// The HTML report in a real browser (Debian chromium, headless, SwiftShader WebGL), opened from
// file:// with the network off: what a user sees and can do.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { join } from 'node:path';
import { makeKnownModel, MiB, xssName } from '../../viewer/model/synthetic.js';
import { artifactsDir, buildViewer, hasChromium, launchChromium, writeReportFile } from './browser-helpers.js';

if (!hasChromium) console.warn('SKIPPED: report page browser tests need /usr/bin/chromium (apt-get install chromium)');

type Handle = {
  layout: { length: number; total: number };
  zoomSlot: number;
  searchTotal: number;
  slotOfName(name: string): number;
  slotRect(slot: number): { x: number; y: number; width: number; height: number } | null;
};

describe.skipIf(!hasChromium)('report page', () => {
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const requests: string[] = [];

  beforeAll(async () => {
    buildViewer();
    browser = await launchChromium();
    const { url } = await writeReportFile('known-report.html', makeKnownModel());
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('dialog', (d) => { problems.push(`dialog: ${d.message()}`); void d.dismiss(); });
    page.on('request', (r) => { if (!/^(file|data|blob):/.test(r.url())) requests.push(r.url()); });
    await page.goto(url);
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 20_000 });
  }, 60_000);

  afterAll(async () => { await browser?.close(); });

  const handle = <T>(fn: (m: Handle) => T) => page.evaluate(fn as never) as Promise<T>;

  it('shows the peak flame graph with the known numbers', async () => {
    await page.screenshot({ path: join(artifactsDir, 'report-peak.png') });
    expect(await page.evaluate(() => (window as unknown as { memview: Handle }).memview.layout.total)).toBe(17 * MiB);
    const crumbs = await page.locator('.mv-crumbs').innerText();
    expect(crumbs).toContain('17.0 MiB');
    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
  });
});
