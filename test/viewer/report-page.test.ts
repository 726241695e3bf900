// The HTML report in a real browser (Debian chromium, headless, SwiftShader WebGL), opened from
// file:// with the network off: what a user sees and can do.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { makeDeepModel, makeKnownModel, MiB, xssName } from '../../viewer/model/synthetic.js';
import { artifactsDir, buildViewer, hasChromium, launchChromium, writeReportFile } from './browser-helpers.js';
import { FrameKind } from '../../viewer/model/types.js';
import { run as report } from '../../cli/commands/report.js';
import { knownCapture } from './capture-fixture.js';

if (!hasChromium) console.warn('SKIPPED: report page browser tests need /usr/bin/chromium (apt-get install chromium)');

type Handle = {
  layout: { length: number; total: number };
  zoomSlot: number;
  searchTotal: number;
  slotOfName(name: string): number;
  slotRect(slot: number): { x: number; y: number; width: number; height: number } | null;
};

describe.skipIf(!hasChromium)('report page', { timeout: 60_000 }, () => {
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


  it('shows the peak flame graph with the known numbers', async () => {
    await page.screenshot({ path: join(artifactsDir, 'report-peak.png') });
    expect(await page.evaluate(() => (window as unknown as { memview: Handle }).memview.layout.total)).toBe(17 * MiB);
    const crumbs = await page.locator('.mv-crumbs').innerText();
    expect(crumbs).toContain('17.0 MiB');
    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
  });

  const clickSlot = async (name: string) => {
    const box = await page.evaluate((n) => {
      const m = (window as unknown as { memview: Handle }).memview;
      return m.slotRect(m.slotOfName(n));
    }, name);
    if (!box) throw new Error(`${name} is not drawn`);
    const canvas = await page.locator('.mv-flame').boundingBox();
    await page.mouse.click(canvas!.x + box.x + box.width / 2, canvas!.y + box.y + box.height / 2);
    await page.waitForTimeout(100);
  };

  it('zooms into a node on click, shows the path, and resets', async () => {
    await clickSlot('parse');
    const state = await page.evaluate(() => {
      const m = (window as unknown as { memview: Handle }).memview;
      return { zoom: m.zoomSlot, parse: m.slotOfName('parse'), rect: m.slotRect(m.slotOfName('parse')) };
    });
    expect(state.zoom).toBe(state.parse);
    expect(state.rect!.width).toBeGreaterThan(1200); // parse now spans the whole width
    expect(await page.locator('.mv-crumbs').innerText()).toMatch(/all \(17\.0 MiB\).*thread main.*\(top-level\).*parse/s);
    await page.screenshot({ path: join(artifactsDir, 'report-zoomed.png') });
    await page.locator('.mv-crumbs button[data-action=reset]').click();
    expect(await page.evaluate(() => (window as unknown as { memview: Handle }).memview.zoomSlot)).toBe(0);
  });

  it('shows a tooltip with the location, bytes, share and count', async () => {
    const box = await page.evaluate(() => { const m = (window as unknown as { memview: Handle }).memview; return m.slotRect(m.slotOfName('load')); });
    const canvas = await page.locator('.mv-flame').boundingBox();
    await page.mouse.move(canvas!.x + box!.x + 20, canvas!.y + box!.y + 5);
    await page.waitForTimeout(100);
    const text = await page.locator('.mv-tooltip').innerText();
    expect(text).toContain('load');
    expect(text).toContain('/app/server.js:10:3');
    expect(text).toContain('10.0 MiB');
    expect(text).toContain('58.8%');
    expect(text).toContain('1 allocation');
    await page.screenshot({ path: join(artifactsDir, 'report-tooltip.png') });
    await page.mouse.move(1, 1);
  });

  it('search highlights matches and says what they add up to', async () => {
    await page.locator('input[aria-label=search]').fill('New');
    await page.waitForTimeout(150);
    expect(await page.evaluate(() => (window as unknown as { memview: Handle }).memview.searchTotal)).toBe(14 * MiB);
    expect(await page.locator('.mv-search-total').innerText()).toContain('2 matches, 14.0 MiB (82.4%)');
    await page.screenshot({ path: join(artifactsDir, 'report-search.png') });
    await page.locator('input[aria-label=search]').fill('');
  });

  it('switching to leaks shows what was never freed', async () => {
    await page.locator('select[aria-label=view]').selectOption('leaks');
    await page.waitForTimeout(150);
    expect(await page.evaluate(() => (window as unknown as { memview: Handle }).memview.layout.total)).toBe(10.5 * MiB);
    expect(await page.evaluate(() => (window as unknown as { memview: Handle }).memview.slotOfName('parse'))).toBe(-1);
    expect(await page.locator('.mv-view-note').innerText()).toContain('never freed');
    await page.screenshot({ path: join(artifactsDir, 'report-leaks.png') });
    await page.locator('select[aria-label=view]').selectOption('peak');
  });

  it('keyboard: arrows move the selection, Enter zooms, Escape resets', async () => {
    await page.locator('.mv-flame').focus();
    await page.keyboard.press('ArrowDown'); // root → thread main
    await page.keyboard.press('ArrowDown'); // → (top-level)
    await page.keyboard.press('ArrowDown'); // → load
    await page.keyboard.press('ArrowRight'); // → parse
    await page.keyboard.press('Enter');
    await page.waitForTimeout(100);
    const state = await page.evaluate(() => { const m = (window as unknown as { memview: Handle }).memview; return [m.zoomSlot, m.slotOfName('parse')]; });
    expect(state[0]).toBe(state[1]);
    await page.keyboard.press('Escape');
    expect(await page.evaluate(() => (window as unknown as { memview: Handle }).memview.zoomSlot)).toBe(0);
  });

  it('renders an HTML-looking function name and command line as text and runs nothing', async () => {
    const box = await page.evaluate((n) => { const m = (window as unknown as { memview: Handle }).memview; return m.slotRect(m.slotOfName(n)); }, xssName);
    const canvas = await page.locator('.mv-flame').boundingBox();
    await page.mouse.move(canvas!.x + box!.x + box!.width / 2, canvas!.y + box!.y + 5);
    await page.waitForTimeout(100);
    expect(await page.locator('.mv-tooltip .mv-tt-name').innerText()).toBe(xssName);
    expect(await page.locator('.mv-tooltip .mv-tt-loc').innerText()).toBe('/app/<script>alert(2)</script>.js:3:9');
    expect(await page.locator('.mv-cmd').innerText()).toContain('<b>not bold</b>');
    await page.locator('.mv-tabs button[data-tab=table]').click();
    expect(await page.locator('.mv-table').innerText()).toContain(xssName);
    expect(await page.locator('img, b, script:not([type])').count()).toBeLessThanOrEqual(1); // only the page's own script
    expect(await page.evaluate(() => document.querySelectorAll('img').length)).toBe(0);
    expect(problems).toEqual([]);
    await page.locator('.mv-tabs button[data-tab=flame]').click();
    await page.mouse.move(1, 1);
  });

  it('says in the header when the program died of a signal, and not otherwise', async () => {
    expect(await page.locator('.mv-facts').innerText()).not.toContain('died');
    const known = makeKnownModel();
    const { url } = await writeReportFile('died-report.html', { ...known, meta: { ...known.meta, endReason: 'SIGABRT' } });
    const died = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await died.goto(url);
    await died.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 20_000 });
    expect(await died.locator('.mv-facts').innerText()).toContain('the program died on SIGABRT');
    expect(await died.locator('.mv-facts').innerText()).not.toContain('unnamed');
    await died.close();
  });

  it('points at memview symbolize when a killed process left every native frame unnamed', async () => {
    expect(await page.locator('.mv-unnamed').count()).toBe(0);
    const known = makeKnownModel();
    const names = [...known.strings];
    const functionName = Int32Array.from(known.frames.functionName, (name, frame) => {
      if (known.frames.kind[frame] !== FrameKind.Native) return name;
      names.push(`node+0x${(0x1000 + frame).toString(16)}`);
      return names.length - 1;
    });
    expect(known.frames.kind.includes(FrameKind.Native)).toBe(true);
    const killed = { ...known, strings: names, frames: { ...known.frames, functionName }, meta: { ...known.meta, truncated: true } };
    const { url } = await writeReportFile('unnamed-report.html', killed);
    const unnamed = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await unnamed.goto(url);
    await unnamed.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 20_000 });
    expect(await unnamed.locator('.mv-unnamed').innerText()).toBe('native frames unnamed: memview symbolize names them');
    await unnamed.close();
  });

  it('table sorts by own bytes and filters', async () => {
    await page.locator('.mv-tabs button[data-tab=table]').click();
    await page.locator('.mv-table th', { hasText: 'own bytes' }).click();
    const first = await page.locator('.mv-table tbody tr').first().locator('td').first().innerText();
    expect(first).toBe('node::Buffer::New');
    await page.locator('input[aria-label="filter table"]').fill('fastparse');
    expect(await page.locator('.mv-table tbody tr').count()).toBe(1);
    await page.screenshot({ path: join(artifactsDir, 'report-table.png') });
    await page.locator('input[aria-label="filter table"]').fill('');
    // Whole functions by default; "each line" lists the lines of a function apart.
    expect(await page.locator('.mv-table .mv-note').innerText()).toMatch(/^\d+ functions;/);
    await page.locator('input[aria-label="one row per line"]').check();
    expect(await page.locator('.mv-table .mv-note').innerText()).toMatch(/^\d+ lines;/);
    await page.locator('input[aria-label="one row per line"]').uncheck();
  });

  it('table gives "% of total" in allocations when the width is set to allocations', async () => {
    await page.locator('select[aria-label=width]').selectOption('count');
    await page.locator('.mv-tabs button[data-tab=table]').click();
    await page.locator('.mv-table th', { hasText: /^total count/ }).click();
    const cells = await page.locator('.mv-table tbody tr').first().locator('td').allInnerTexts();
    expect(parseFloat(cells[6])).toBeLessThanOrEqual(100);
    expect(await page.locator('.mv-table thead').innerText()).toContain('% of total count');
    await page.locator('select[aria-label=width]').selectOption('bytes');
    await page.locator('.mv-table th', { hasText: /^total bytes/ }).click();
    await page.locator('.mv-tabs button[data-tab=flame]').click();
  });

  it('toolbar selects are wide enough for every option\'s text', async () => {
    const cut = await page.evaluate(() => {
      const measure = document.createElement('canvas').getContext('2d')!;
      const short: string[] = [];
      for (const select of document.querySelectorAll<HTMLSelectElement>('.mv-toolbar select')) {
        const style = getComputedStyle(select);
        measure.font = `${style.fontSize} ${style.fontFamily}`;
        // Room for the text: the box less its padding, borders and the drop-down arrow (about 20 px).
        const room = select.getBoundingClientRect().width - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)
          - parseFloat(style.borderLeftWidth) - parseFloat(style.borderRightWidth) - 20;
        for (const option of select.options) if (measure.measureText(option.text).width > room) short.push(option.text);
      }
      return short;
    });
    expect(cut).toEqual([]);
  });

  it('after zooming into a shallow frame of a deep tree, dragging up stops while the frame is still in view', async () => {
    const { url } = await writeReportFile('deep-report.html', makeDeepModel(150));
    const deepPage = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await deepPage.goto(url);
    await deepPage.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 20_000 });
    type Scroll = Handle & { zoomTo(slot: number): void; panBy(dx: number, dy: number): void; layout: { depth: Int32Array; length: number } };
    const shown = await deepPage.evaluate(() => {
      const m = (window as unknown as { memview: Scroll }).memview;
      const height = document.querySelector('.mv-flame')!.clientHeight;
      m.zoomTo(m.slotOfName('shallow'));
      m.panBy(0, -100_000); // a long drag upwards: scroll down as far as it goes
      const shallow = m.slotRect(m.slotOfName('shallow'))!;
      m.zoomTo(0);
      m.panBy(0, -100_000);
      let deepest = 0;
      for (let i = 1; i < m.layout.length; i++) if (m.layout.depth[i] > m.layout.depth[deepest]) deepest = i;
      const bottom = m.slotRect(deepest)!;
      return { height, shallowY: shallow.y, bottomY: bottom.y };
    });
    expect(shown.shallowY).toBeGreaterThanOrEqual(0);
    expect(shown.shallowY).toBeLessThan(shown.height);
    // Unzoomed, the whole depth is still reachable.
    expect(shown.bottomY).toBeGreaterThanOrEqual(0);
    expect(shown.bottomY).toBeLessThan(shown.height);
    await deepPage.close();
  });

  it('the chart\'s legend and its hint sit above the plot, not on the data, and apart', async () => {
    const box = async (selector: string) => (await page.locator(selector).boundingBox())!;
    const canvas = await box('.mv-timeline canvas');
    await page.mouse.move(canvas.x + canvas.width * 0.9, canvas.y + canvas.height / 2); // the readout: the longest text there
    const legend = await box('.mv-chart-legend');
    const hint = await box('.mv-range');
    expect(await page.locator('.mv-range').innerText()).toMatch(/tracked .+, heap .+, RSS/);
    for (const label of [legend, hint]) expect(label.y + label.height).toBeLessThanOrEqual(canvas.y + 0.5);
    expect(legend.x + legend.width).toBeLessThanOrEqual(hint.x);
    expect(await page.locator('.mv-chart-legend').innerText()).toMatch(/tracked\s+heap\s+RSS/);
    await page.mouse.move(0, 0);
  });

  it('says a report file is damaged or incomplete when it was cut short or altered', async () => {
    const { path } = await writeReportFile('damaged-source.html', makeKnownModel());
    const html = readFileSync(path, 'utf8');
    const payloadAt = html.indexOf('<template id="memview-payload">') + 40;
    const damaged = {
      'half': html.slice(0, Math.floor(html.length / 2)), // inside the viewer's script
      'payload-cut': html.slice(0, payloadAt + 300),
      'not-base64': html.slice(0, payloadAt + 300) + '§<b>' + html.slice(payloadAt + 300),
    };
    for (const [how, text] of Object.entries(damaged)) {
      const file = join(artifactsDir, `damaged-${how}.html`);
      writeFileSync(file, text);
      const damagedPage = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await damagedPage.goto(pathToFileURL(file).href);
      await damagedPage.waitForFunction(() => /damaged or incomplete/.test(document.body?.innerText ?? ''), null, { timeout: 10_000 })
        .catch(() => undefined);
      expect(await damagedPage.evaluate(() => document.body?.innerText ?? ''), how).toMatch(/^This report file is damaged or incomplete \(.+\); generate it again with memview report\.$/);
      await damagedPage.close();
    }
  });

  it('a report of a capture cut before its first chunk ended says so instead of showing an empty report', async () => {
    const cutPath = join(artifactsDir, 'cut-in-first-chunk.bin');
    writeFileSync(cutPath, knownCapture().slice(0, 100)); // 16-byte header, then part of chunk 0
    const out = join(artifactsDir, 'cut-in-first-chunk.html');
    const log = console.log;
    console.log = () => {};
    try { expect(await report([cutPath, '-o', out])).toBe(0); } finally { console.log = log; }
    const cutPage = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await cutPage.goto(pathToFileURL(out).href);
    await cutPage.waitForFunction(() => document.body.dataset.ready === 'empty', null, { timeout: 20_000 });
    await cutPage.screenshot({ path: join(artifactsDir, 'report-cut-in-first-chunk.png') });
    const text = await cutPage.evaluate(() => document.body.innerText.trim());
    expect(text).toBe('This capture holds no complete chunk of events (it was cut at byte 100, before its first chunk ended): '
      + 'the program was killed within its first moments, or the file was cut short. There is nothing to show.');
    expect(await cutPage.locator('.mv-header, canvas').count()).toBe(0);
    await cutPage.close();
  });

  it('stats panel shows totals and allocators', async () => {
    await page.locator('.mv-tabs button[data-tab=stats]').click();
    const text = await page.locator('.mv-stats').innerText();
    expect(text).toContain('17.0 MiB');
    expect(text).toContain('malloc');
    await page.screenshot({ path: join(artifactsDir, 'report-stats.png') });
    await page.locator('.mv-tabs button[data-tab=flame]').click();
    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
  });

  it('wheel zooms around the pointer, dragging pans, and width can be allocation counts', async () => {
    const canvas = (await page.locator('.mv-flame').boundingBox())!;
    const loadWidth = () => page.evaluate(() => { const m = (window as unknown as { memview: Handle }).memview; return m.slotRect(m.slotOfName('load'))!.width; });
    const before = await loadWidth();
    await page.mouse.move(canvas.x + 200, canvas.y + 60);
    await page.mouse.wheel(0, -400);
    await page.waitForTimeout(150);
    expect(await loadWidth()).toBeGreaterThan(before * 1.5);
    const range = () => page.evaluate(() => (window as unknown as { memview: { valueRange: [number, number] } }).memview.valueRange);
    const [start, end] = await range();
    await page.mouse.move(canvas.x + 600, canvas.y + 60);
    await page.mouse.down();
    await page.mouse.move(canvas.x + 400, canvas.y + 60, { steps: 4 }); // drag left: look further right
    await page.mouse.up();
    await page.waitForTimeout(150);
    const [start2, end2] = await range();
    expect(start2 - start).toBeCloseTo(((end - start) * 200) / canvas.width, -3);
    expect(end2 - start2).toBeCloseTo(end - start, -3);
    await page.keyboard.press('Escape');
    await page.locator('select[aria-label=width]').selectOption('count');
    await page.waitForTimeout(150);
    expect(await page.evaluate(() => (window as unknown as { memview: Handle }).memview.layout.total)).toBe(9); // 1 + 4 + 2 + 2 allocations live at the peak
    await page.screenshot({ path: join(artifactsDir, 'report-count.png') });
    await page.locator('select[aria-label=width]').selectOption('bytes');
  });
});
