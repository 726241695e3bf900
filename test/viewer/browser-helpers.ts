// Shared by the browser tests and the benchmark: Debian's chromium driven by playwright-core
// (never a downloaded browser), headless with SwiftShader WebGL, and reports written from models.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
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

/** Newest modification time (ms) of the files the viewer page is built from. */
function newestSource(): number {
  let newest = 0;
  const visit = (path: string) => {
    if (!existsSync(path)) return;
    const info = statSync(path);
    if (info.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry));
    else newest = Math.max(newest, info.mtimeMs);
  };
  for (const part of ['viewer/ui', 'viewer/render', 'viewer/model', 'viewer/index.html', 'wasm/host', 'wasm/build', 'vite.config.ts']) visit(join(repoRoot, part));
  return newest;
}

/**
 * Builds the viewer page (Vite) unless it is newer than its sources. Test files run in parallel,
 * so builds are serialised with a lock directory: no test reads a page another one is rewriting.
 */
export function buildViewer(): void {
  const page = join(repoRoot, 'dist/viewer/page/index.html');
  const lock = join(repoRoot, 'dist/.viewer-build.lock');
  mkdirSync(join(repoRoot, 'dist'), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`waited too long for ${lock}`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
  try {
    if (existsSync(page) && statSync(page).mtimeMs > newestSource()) return;
    const env = { ...process.env };
    delete env.VITEST; // vite.config.ts roots the build at viewer/ only outside vitest
    execFileSync('npx', ['vite', 'build', '--logLevel', 'error'], { cwd: repoRoot, stdio: 'inherit', env });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export async function writeReportFile(name: string, model: CaptureModel, initialView: ViewName = 'peak', temporal: TemporalRanges | null = null): Promise<{ path: string; url: string; size: number }> {
  mkdirSync(artifactsDir, { recursive: true });
  const html = await buildReportHtml(await viewerTemplate(), { model, initialView, temporal, memviewVersion: 'test' });
  const path = join(artifactsDir, name);
  await writeFile(path, html);
  return { path, url: pathToFileURL(path).href, size: Buffer.byteLength(html) };
}
