// `memview report` / `memview flamegraph` from a capture file: one self-contained HTML file with
// the model embedded, a CSP that forbids the network, and --confidential honoured.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run as report, withCsp } from '../../cli/commands/report.js';
import { run as flamegraph } from '../../cli/commands/flamegraph.js';
import { UsageError, UserFacingError } from '../../cli/usage-error.js';
import { decodePayload, fromBase64 } from '../../viewer/model/payload-codec.js';
import type { ReportPayload } from '../../viewer/model/report-payload.js';
import { knownCapture, MiB } from './capture-fixture.js';
import { buildViewer } from './browser-helpers.js';

let dir: string;
let capturePath: string;

beforeAll(() => {
  buildViewer();
  dir = mkdtempSync(join(tmpdir(), 'memview-report-'));
  capturePath = join(dir, 'capture.bin');
  writeFileSync(capturePath, knownCapture());
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function payloadOf(path: string): Promise<{ html: string; payload: ReportPayload }> {
  const html = readFileSync(path, 'utf8');
  const match = /<template id="memview-payload">([^<]*)<\/template>/.exec(html);
  expect(match).not.toBeNull();
  return { html, payload: await decodePayload<ReportPayload>(fromBase64(match![1])) };
}

describe('memview report', { timeout: 60_000 }, () => {
  it('writes memview-<name>.html beside the capture and prints its path', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    expect(await report([capturePath])).toBe(0);
    const written = join(dir, 'memview-capture.html');
    expect(log).toHaveBeenCalledWith(written);
    log.mockRestore();
    const { html, payload } = await payloadOf(written);
    expect(payload.model.stats.peakBytes).toBe(15 * MiB);
    expect(payload.model.meta.commandLine).toEqual(['node', '/app/server.js', '--token=<b>secret</b>']);
    expect(payload.initialView).toBe('peak');
    expect(html.length).toBeLessThan(5 * 1024 * 1024);
    expect(html).toContain("default-src 'none'");
    expect(html).toContain("connect-src 'none'");
    expect(html).not.toMatch(/<script[^>]+src=/); // nothing loaded from elsewhere
  });

  it('--confidential keeps only the program name of the command line', async () => {
    const out = join(dir, 'confidential.html');
    vi.spyOn(console, 'log').mockImplementation(() => {});
    expect(await report([capturePath, '-o', out, '--confidential'])).toBe(0);
    vi.restoreAllMocks();
    const { html, payload } = await payloadOf(out);
    expect(payload.model.meta.commandLine).toEqual(['node']);
    expect(html).not.toContain('secret');
  });

  it('flamegraph --leaks opens on leaks; --temporary-allocations=3 on temporary', async () => {
    vi.spyOn(console, 'log').mockImplementation(() => {});
    vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await flamegraph(['--leaks', capturePath])).toBe(0);
    const leaks = await payloadOf(join(dir, 'memview-flamegraph-capture.html'));
    expect(leaks.payload.initialView).toBe('leaks');
    expect(await flamegraph(['--temporary-allocations=3', capturePath, '-o', join(dir, 't.html')])).toBe(0);
    const temporary = await payloadOf(join(dir, 't.html'));
    expect(temporary.payload.initialView).toBe('temporary');
    expect(temporary.payload.model.temporaryThreshold).toBe(3);
    expect(await flamegraph(['--temporary-allocations', capturePath, '-o', join(dir, 't1.html')])).toBe(0);
    expect((await payloadOf(join(dir, 't1.html'))).payload.initialView).toBe('temporary');
    vi.restoreAllMocks();
  });

  it('says clearly what is wrong with the arguments or the file', async () => {
    await expect(report([])).rejects.toBeInstanceOf(UsageError);
    await expect(report([join(dir, 'missing.bin')])).rejects.toThrow(/no such capture file/);
    await expect(flamegraph(['--leaks', '--temporary-allocations', capturePath])).rejects.toBeInstanceOf(UsageError);
    await expect(flamegraph(['--temporary-allocations=0', capturePath])).rejects.toBeInstanceOf(UsageError);
    const corrupt = join(dir, 'corrupt.bin');
    writeFileSync(corrupt, Buffer.from('MEMVIEW\0garbage garbage garbage'));
    await expect(report([corrupt])).rejects.toBeInstanceOf(UserFacingError);
  });

  it('the CSP allows the page\'s own inline script by hash only', () => {
    const html = withCsp('<html><head></head><body><script type="module">alert(1)</script></body></html>');
    expect(html).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(html).not.toContain("'unsafe-eval'");
  });
});

describe('report size', () => {
  it('stays under 5 MB for a very large capture, with exact totals', async () => {
    const { makeSyntheticModel } = await import('../../viewer/model/synthetic.js');
    const { buildReportHtml, viewerTemplate } = await import('../../cli/commands/report.js');
    const model = makeSyntheticModel(600_000, 9);
    const html = await buildReportHtml(await viewerTemplate(), { model, initialView: 'peak', temporal: null, memviewVersion: 'test' });
    expect(Buffer.byteLength(html)).toBeLessThanOrEqual(5 * 1024 * 1024);
    const payload = await decodePayload<ReportPayload>(fromBase64(/<template id="memview-payload">([^<]*)</.exec(html)![1]));
    expect(payload.foldedBelow).toBeGreaterThan(0);
    const sum = (a: Float64Array) => a.reduce((x, y) => x + y, 0);
    expect(sum(payload.model.views.peak.bytes)).toBe(sum(model.views.peak.bytes));
    expect(payload.model.tree.count).toBeLessThan(model.tree.count);
  }, 120_000);

  it('a temporal report that must be pruned keeps its ranges, folded onto the pruned tree', async () => {
    const { makeSyntheticModel } = await import('../../viewer/model/synthetic.js');
    const { buildReportHtml, viewerTemplate } = await import('../../cli/commands/report.js');
    const { toSparse } = await import('../../viewer/model/report-payload.js');
    const model = makeSyntheticModel(150_000, 4);
    const ranges = [];
    for (let from = 0; from < 4; from++) for (let to = from + 1; to <= 4; to++) ranges.push({ from, to, peak: toSparse(model.views.peak), leaks: toSparse(model.views.leaks) });
    const temporal = { boundsMs: Float64Array.from({ length: 5 }, (_, k) => k * 500), ranges };
    const html = await buildReportHtml(await viewerTemplate(), { model, initialView: 'peak', temporal, memviewVersion: 'test' });
    expect(Buffer.byteLength(html)).toBeLessThanOrEqual(5 * 1024 * 1024);
    const payload = await decodePayload<ReportPayload>(fromBase64(/<template id="memview-payload">([^<]*)</.exec(html)![1]));
    expect(payload.temporal).not.toBeNull();
    expect(payload.foldedBelow).toBeGreaterThan(0);
    const range = payload.temporal!.ranges[0];
    const sum = (a: Float64Array) => a.reduce((x, y) => x + y, 0);
    expect(sum(range.peak.bytes)).toBe(sum(model.views.peak.bytes));
    expect(Math.max(...range.peak.node)).toBeLessThan(payload.model.tree.count);
  }, 180_000);
});
