// `memview report capture.bin`: one self-contained HTML file (the prebuilt viewer plus the
// capture's aggregated model, deflated and base64-encoded) that works offline from file://.
// No bundler runs here: the viewer was built once by Vite into dist/viewer/page/index.html.
import { existsSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { parseOptions } from '../parse-options.js';
import { UsageError, UserFacingError } from '../usage-error.js';
import type { CaptureModel, NodeMetrics } from '../../viewer/model/types.js';
import { truncationWarning } from '../terminal/open-capture.js';
import type { ViewName } from '../../viewer/model/view-tree.js';
import { encodePayload, toBase64 } from '../../viewer/model/payload-codec.js';
import { payloadElementId, remapSparse, toSparse, type ReportPayload, type SparseRangeViews, type TemporalRanges } from '../../viewer/model/report-payload.js';
import { pruneModelMapped } from '../../viewer/model/prune.js';
import { refuseToReplaceCapture } from '../terminal/output-guard.js';
import { writeWholeFile } from '../terminal/whole-file.js';

export const summary = 'write a self-contained HTML report (flame graph, memory over time, table, stats)';

const usage = 'memview report <capture.bin> [-o report.html] [--open] [--leaks | --temporary-allocations[=N]] [--temporal] [--confidential]';

/** Largest report we write; bigger models are pruned of their smallest call paths first. */
export const maxReportBytes = 5 * 1024 * 1024;

export interface ReportRequest {
  capturePath: string;
  outputPath: string;
  initialView: ViewName;
  temporaryThreshold?: number;
  temporal: boolean;
  confidential: boolean;
  open: boolean;
}

export const reportOptions = {
  output: { type: 'string', short: 'o' },
  open: { type: 'boolean' },
  leaks: { type: 'boolean' },
  'temporary-allocations': { type: 'string' },
  temporal: { type: 'boolean' },
  confidential: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `--temporary-allocations` may stand alone or carry `=N`; parseArgs wants a value, so give one. */
export function normaliseArgs(argv: string[]): string[] {
  return argv.map((arg) => (arg === '--temporary-allocations' ? '--temporary-allocations=default' : arg));
}

export function parseReportArgs(argv: string[], usageLine: string, defaultPrefix: string): ReportRequest | null {
  const { values, positionals } = parseOptions(normaliseArgs(argv), reportOptions, usageLine);
  if (values.help) {
    console.log([
      usageLine,
      '',
      `Writes one self-contained HTML file (default: ${defaultPrefix}<capture>.html beside the capture) that`,
      'works offline: flame graph, memory over time, table and stats. It embeds the aggregated',
      'model, never the raw capture, and stays under 5 MB.',
      '',
      'Options:',
      '  -o, --output FILE                  where to write the report',
      '      --open                         open it in the default browser',
      '      --leaks                        open on what was never freed',
      '      --temporary-allocations[=N]    open on allocations freed within N later allocations (default 1)',
      '      --temporal                     let the page choose a time range (precomputed ranges)',
      '      --confidential                 keep only the program name of the command line',
      '  -h, --help                         show this help',
    ].join('\n'));
    return null;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length ? `expected one capture file, got ${positionals.length}` : 'missing the capture file', usageLine);
  const capturePath = positionals[0];
  let temporaryThreshold: number | undefined;
  const temporary = values['temporary-allocations'];
  if (temporary !== undefined && temporary !== 'default') {
    temporaryThreshold = Number(temporary);
    if (!Number.isInteger(temporaryThreshold) || temporaryThreshold < 1) throw new UsageError(`--temporary-allocations takes a positive whole number, not '${temporary}'`, usageLine);
  }
  if (values.leaks && temporary !== undefined) throw new UsageError('--leaks and --temporary-allocations show different views; choose one', usageLine);
  const stem = basename(capturePath, extname(capturePath));
  return {
    capturePath,
    outputPath: values.output ?? join(dirname(capturePath), `${defaultPrefix}${stem}.html`),
    initialView: values.leaks ? 'leaks' : temporary !== undefined ? 'temporary' : 'peak',
    temporaryThreshold,
    temporal: !!values.temporal,
    confidential: !!values.confidential,
    open: !!values.open,
  };
}

export async function run(argv: string[]): Promise<number> {
  const request = parseReportArgs(argv, usage, 'memview-');
  if (!request) return 0;
  return writeReportCommand(request);
}

export async function writeReportCommand(request: ReportRequest): Promise<number> {
  if (!existsSync(request.capturePath)) throw new UserFacingError(`no such capture file: ${request.capturePath}`);
  if (statSync(request.capturePath).isDirectory()) throw new UserFacingError(`${request.capturePath}: is a directory, not a capture file`);
  refuseToReplaceCapture(request.outputPath, request.capturePath);
  const { model, temporal } = await loadModel(request.capturePath, request.temporaryThreshold, request.temporal);
  if (model.meta.truncated) console.error(truncationWarning(request.capturePath, model));  // the page says it too
  const html = await buildReportHtml(await viewerTemplate(), {
    model: request.confidential ? withoutArguments(model) : model,
    initialView: request.initialView,
    temporal,
    memviewVersion: await memviewVersion(),
    captureBytes: (await stat(request.capturePath)).size,
  });
  await writeWholeFile(request.outputPath, [html]);
  console.log(resolve(request.outputPath));
  if (request.open) openInBrowser(resolve(request.outputPath));
  return 0;
}

/** The command line minus its arguments: the program name only. */
export function withoutArguments(model: CaptureModel): CaptureModel {
  const [program] = model.meta.commandLine;
  const commandLine = program === undefined ? [] : [basename(program)];
  return { ...model, meta: { ...model.meta, commandLine }, strings: model.strings };
}

interface LoadedModel { model: CaptureModel; temporal: TemporalRanges | null }

/** How many equal slices a temporal report cuts the run into (every pair of cuts is precomputed). */
export const temporalSlices = 10;

/** The wasm engine when it is built, else the TypeScript reference reader. */
export async function loadModel(path: string, temporaryThreshold: number | undefined, temporal: boolean): Promise<LoadedModel> {
  const engine = await importIfPresent('../../wasm/host/node-engine.js');
  try {
    if (engine && temporal && typeof engine.NodeDecoder === 'function') {
      const decoder = new engine.NodeDecoder();
      try {
        const model: CaptureModel = await decoder.decode(path, { temporaryThreshold });
        return { model, temporal: await precomputeRanges(model, (t0, t1) => decoder.rangeViews(t0, t1)) };
      } finally {
        await decoder.close();
      }
    }
    if (temporal) console.error('memview: time ranges need the wasm decoder, which is not built; the report shows the whole run');
    if (engine && typeof engine.decodeCaptureFile === 'function') {
      return { model: await engine.decodeCaptureFile(path, { temporaryThreshold }), temporal: null };
    }
    const reader = await importIfPresent('../../collector/lib/reader/index.js');
    if (!reader || typeof reader.readCaptureFile !== 'function') throw new UserFacingError('no capture decoder is built (run npm run build)');
    return { model: await reader.readCaptureFile(path, { temporaryThreshold }), temporal: null };
  } catch (error) {
    if (error instanceof UserFacingError || error instanceof UsageError) throw error;
    throw new UserFacingError(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

type RangeQuery = (t0Ms: number, t1Ms: number) => Promise<{ peak: NodeMetrics; leaks: NodeMetrics; snappedMs?: [number, number] }>;

/**
 * Asks the decoder for every pair of cuts; null (with a warning) when it cannot answer. The
 * decoder answers a range with its ends moved to its own time buckets, so the cuts are first moved
 * the same way (and merged where two land together): the page then names the range each answer
 * is for.
 */
export async function precomputeRanges(model: CaptureModel, query: RangeQuery, slices = temporalSlices): Promise<TemporalRanges | null> {
  const endMs = Math.max(model.meta.durationMs, model.timeline.timeMs[model.timeline.timeMs.length - 1] ?? 0);
  if (!(endMs > 0)) return null;
  const evenCutsMs = Array.from({ length: slices + 1 }, (_, k) => (endMs * k) / slices);
  const ranges: SparseRangeViews[] = [];
  let boundsMs: Float64Array;
  try {
    const cutsMs = new Set<number>();
    for (let k = 0; k < slices; k++) {
      const slice = await query(evenCutsMs[k], evenCutsMs[k + 1]);
      cutsMs.add(slice.snappedMs?.[0] ?? evenCutsMs[k]);
      if (k === slices - 1) cutsMs.add(slice.snappedMs?.[1] ?? endMs);
    }
    boundsMs = Float64Array.from([...cutsMs].sort((a, b) => a - b));
    for (let from = 0; from < boundsMs.length - 1; from++) {
      for (let to = from + 1; to < boundsMs.length; to++) {
        const views = await query(boundsMs[from], boundsMs[to]);
        ranges.push({ from, to, peak: toSparse(views.peak), leaks: toSparse(views.leaks) });
      }
    }
  } catch (error) {
    console.error(`memview: the decoder cannot compute time ranges (${error instanceof Error ? error.message : String(error)}); the report shows the whole run`);
    return null;
  }
  return { boundsMs, ranges };
}

/** Imports a module that may not be built; from the TypeScript sources (tests), its .ts twin. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function importIfPresent(specifier: string): Promise<any | null> {
  for (const candidate of [specifier, specifier.replace(/\.js$/, '.ts')]) {
    const url = new URL(candidate, import.meta.url);
    if (existsSync(url) && (candidate.endsWith('.js') || import.meta.url.endsWith('.ts'))) return import(url.href);
  }
  return null;
}

export async function viewerTemplate(): Promise<string> {
  // dist/cli/commands/ → dist/viewer/page/; when run from source (tests), the repo's dist/.
  const candidates = [new URL('../../viewer/page/index.html', import.meta.url), new URL('../../dist/viewer/page/index.html', import.meta.url)];
  for (const url of candidates) if (existsSync(url)) return readFile(url, 'utf8');
  throw new UserFacingError(`the viewer is not built (${candidates[0].pathname} is missing); run npm run build:viewer`);
}

async function memviewVersion(): Promise<string> {
  const candidates = [new URL('../../../package.json', import.meta.url), new URL('../../package.json', import.meta.url)];
  const url = candidates.find((candidate) => existsSync(candidate)) ?? candidates[0];
  const packageJson = JSON.parse(await readFile(url, 'utf8'));
  return packageJson.version;
}

/**
 * The report page: the template with the payload in its <template> and a Content-Security-Policy
 * that allows the page's own inline script and style (by hash) and nothing from the network.
 */
export async function buildReportHtml(template: string, payload: ReportPayload, budgetBytes = maxReportBytes): Promise<string> {
  let encoded = toBase64(await encodePayload(payload));
  // Keep the report under its budget: fold away the smallest call paths until it fits; a temporal
  // report's ranges fold with them, and are dropped (with a warning) only if nothing else helps.
  const room = budgetBytes - template.length - 4096;
  for (let keepFraction = 1e-5; encoded.length > room && keepFraction < 0.5; keepFraction *= 4) {
    const { model, newId } = pruneModelMapped(payload.model, keepFraction);
    const temporal = payload.temporal && {
      boundsMs: payload.temporal.boundsMs,
      ranges: payload.temporal.ranges.map((r) => ({ ...r, peak: remapSparse(r.peak, newId, model.tree.count), leaks: remapSparse(r.leaks, newId, model.tree.count) })),
    };
    encoded = toBase64(await encodePayload({ ...payload, model, temporal, foldedBelow: keepFraction }));
    if (encoded.length > room && temporal && keepFraction * 4 >= 0.5) {
      console.error('memview: the time ranges do not fit in a 5 MB report; this report shows the whole run only');
      encoded = toBase64(await encodePayload({ ...payload, model, temporal: null, foldedBelow: keepFraction }));
    }
  }
  const marker = `<template id="${payloadElementId}"></template>`;
  if (!template.includes(marker)) throw new UserFacingError('the built viewer has no payload slot; rebuild it with npm run build:viewer');
  return withCsp(template).replace(marker, () => `<template id="${payloadElementId}">${encoded}</template>`);
}

/**
 * The page's Content-Security-Policy: its own inline scripts (by hash) and nothing from anywhere
 * else. `decoder` adds what the static viewer's decoder needs: compiling its inlined wasm, and the
 * Web Worker and wasm bytes it starts from blob:/data: URLs.
 */
export function contentSecurityPolicy(html: string, { decoder = false } = {}): string {
  const scriptHashes = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)]
    .map((m) => `'sha256-${createHash('sha256').update(m[1], 'utf8').digest('base64')}'`).join(' ');
  return [
    "default-src 'none'",
    `script-src ${scriptHashes}${decoder ? " 'wasm-unsafe-eval' blob:" : ''}`,
    // Styles cannot run code; the viewer sets style attributes, which hashes would forbid.
    "style-src 'unsafe-inline'",
    'img-src data: blob:',
    'worker-src blob:',
    decoder ? 'connect-src data: blob:' : "connect-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/** Adds the CSP as a meta tag (a report opened from file:// has no HTTP headers). */
export function withCsp(html: string): string {
  const meta = `<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(html)}">`;
  return html.replace(/<head>/i, () => `<head>\n${meta}`);
}

function openInBrowser(path: string): void {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    const child = spawn(command, [path], { detached: true, stdio: 'ignore' });
    child.on('error', () => console.error(`memview: could not open a browser; open ${path} yourself`));
    child.unref();
  } catch {
    console.error(`memview: could not open a browser; open ${path} yourself`);
  }
}
