// Shared by the browser tests and the benchmark: Debian's chromium driven by playwright-core
// (never a downloaded browser), headless with SwiftShader WebGL, and reports written from models.
import { existsSync, mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { buildReportHtml, viewerTemplate } from '../../cli/commands/report.js';
import type { CaptureModel } from '../../viewer/model/types.js';
import type { ViewName } from '../../viewer/model/view-tree.js';
import type { TemporalRanges } from '../../viewer/model/report-payload.js';

export const chromiumPath = process.env.MEMVIEW_CHROMIUM ?? '/usr/bin/chromium';
export const hasChromium = existsSync(chromiumPath);
export const repoRoot = new URL('../../', import.meta.url).pathname;
export const artifactsDir = join(repoRoot, 'test/artifacts');

export const chromiumArgs = [
  '--headless', '--no-sandbox', '--disable-gpu', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true });
}

/** Builds the viewer page once per test run (Vite, a couple of seconds). */
export function buildViewer(): void {
  const env = { ...process.env };
  delete env.VITEST; // vite.config.ts roots the build at viewer/ only outside vitest
  execFileSync('npx', ['vite', 'build', '--logLevel', 'error'], { cwd: repoRoot, stdio: 'inherit', env });
}

export async function writeReportFile(name: string, model: CaptureModel, initialView: ViewName = 'peak', temporal: TemporalRanges | null = null): Promise<{ path: string; url: string; size: number }> {
  mkdirSync(artifactsDir, { recursive: true });
  const html = await buildReportHtml(await viewerTemplate(), { model, initialView, temporal, memviewVersion: 'test' });
  const path = join(artifactsDir, name);
  await writeFile(path, html);
  return { path, url: pathToFileURL(path).href, size: Buffer.byteLength(html) };
}
