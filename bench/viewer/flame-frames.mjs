// Benchmark of the flame graph with a 1,000,000-node synthetic model in headless Debian chromium
// (SwiftShader WebGL, no GPU): time from "model ready" to the first painted frame, and the time of
// zoom and pan frames with labels (each frame drawn and finished on the GPU before the clock stops).
// Run after `npm run build:ts && npm run build:viewer`:  node bench/viewer/flame-frames.mjs [nodes] [skewed|even]
// Writes the figures to bench/viewer/RESULTS.md.
import { mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { makeSyntheticModel } from '../../dist/viewer/model/synthetic.js';
import { buildReportHtml, viewerTemplate } from '../../dist/cli/commands/report.js';

const nodes = Number(process.argv[2] ?? 1_000_000);
const shape = process.argv[3] ?? 'skewed';
const root = new URL('../../', import.meta.url).pathname;
const outDir = join(root, 'bench/out');
mkdirSync(outDir, { recursive: true });

const model = makeSyntheticModel(nodes, 1, shape);
const html = await buildReportHtml(await viewerTemplate(), { model, initialView: 'peak', temporal: null, memviewVersion: 'bench' }, Infinity);
const pagePath = join(outDir, `flame-${nodes}-${shape}.html`);
writeFileSync(pagePath, html);

const browser = await chromium.launch({
  executablePath: process.env.MEMVIEW_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const width = 1600, height = 900;
const page = await browser.newPage({ viewport: { width, height } });
page.on('pageerror', (e) => console.error('page error:', e.message));
await page.goto(pathToFileURL(pagePath).href);
await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 120_000 });
await page.waitForFunction(() => performance.getEntriesByName('memview:first-paint').length > 0, null, { timeout: 60_000 });
await page.waitForFunction(() => document.body.dataset.layout === 'full', null, { timeout: 60_000 });
await page.waitForTimeout(500);

const result = await page.evaluate(() => {
  const m = window.memview;
  const ready = performance.getEntriesByName('memview:model-ready')[0].startTime;
  const painted = performance.getEntriesByName('memview:first-paint')[0].startTime;
  const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
  const p95 = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length * 0.95)]; };
  const frames = { zoomIn: [], pan: [], zoomOut: [], rects: [], glyphs: [] };
  m.renderFrameSync(); // warm-up
  // Zoom towards a point, 120 frames of 3% (to 1/40 of the width), then pan and zoom back out.
  for (let i = 0; i < 120; i++) { m.zoomBy(0.97, 0.37); frames.zoomIn.push(m.renderFrameSync()); const c = m.drawnCounts(); frames.rects.push(c.rects); frames.glyphs.push(c.glyphs); }
  for (let i = 0; i < 120; i++) { m.panBy(i % 60 < 30 ? 13 : -13, i % 40 < 20 ? -3 : 3); frames.pan.push(m.renderFrameSync()); }
  for (let i = 0; i < 120; i++) { m.zoomBy(1 / 0.97, 0.37); frames.zoomOut.push(m.renderFrameSync()); const c = m.drawnCounts(); frames.rects.push(c.rects); frames.glyphs.push(c.glyphs); }
  const all = [...frames.zoomIn, ...frames.pan, ...frames.zoomOut];
  return {
    timings: m.timings,
    nodesInLayout: m.layout.length,
    firstPaintMs: painted - ready,
    median: median(all), p95: p95(all), max: Math.max(...all),
    zoomInMedian: median(frames.zoomIn), panMedian: median(frames.pan), zoomOutMedian: median(frames.zoomOut),
    maxRects: Math.max(...frames.rects), maxGlyphs: Math.max(...frames.glyphs), medianRects: median(frames.rects), medianGlyphs: median(frames.glyphs),
    renderer: (() => { const gl = document.createElement('canvas').getContext('webgl2'); const d = gl?.getExtension('WEBGL_debug_renderer_info'); return d ? gl.getParameter(d.UNMASKED_RENDERER_WEBGL) : 'unknown'; })(),
  };
});
await page.screenshot({ path: join(outDir, `flame-${nodes}-${shape}.png`) });

// The floor on this machine at this moment: raw WebGL2 (no pixi, no labels), one draw call of
// as many opaque quads as the median frame above drew (rectangles + glyphs), same canvas size.
const canvasSize = await page.evaluate(() => { const c = document.querySelector('.mv-flame canvas'); return [c.width, c.height]; });
const quads = result.medianRects + result.medianGlyphs;
const floorPage = await browser.newPage({ viewport: { width, height } });
await floorPage.setContent(`<canvas width=${canvasSize[0]} height=${canvasSize[1]}></canvas>`);
const rawFloorMs = await floorPage.evaluate((n) => {
  const canvas = document.querySelector('canvas');
  const gl = canvas.getContext('webgl2', { antialias: false });
  const compile = (type, source) => { const s = gl.createShader(type); gl.shaderSource(s, source); gl.compileShader(s); return s; };
  const program = gl.createProgram();
  gl.attachShader(program, compile(gl.VERTEX_SHADER, `#version 300 es\nin vec2 p; in vec4 c; out vec4 vc; uniform vec2 size; void main(){ gl_Position = vec4(p.x / size.x * 2.0 - 1.0, 1.0 - p.y / size.y * 2.0, 0, 1); vc = c; }`));
  gl.attachShader(program, compile(gl.FRAGMENT_SHADER, `#version 300 es\nprecision mediump float; in vec4 vc; out vec4 o; void main(){ o = vc; }`));
  gl.linkProgram(program);
  gl.useProgram(program);
  gl.uniform2f(gl.getUniformLocation(program, 'size'), canvas.width, canvas.height);
  const rows = 35, perRow = Math.ceil(n / rows), w = canvas.width / perRow;
  const data = new Float32Array(n * 12), colours = new Uint32Array(data.buffer), index = new Uint32Array(n * 6);
  for (let q = 0; q < n; q++) {
    const x = (q % perRow) * w, y = Math.floor(q / perRow) * 18;
    [[x, y], [x + w - 1, y], [x + w - 1, y + 17], [x, y + 17]].forEach(([a, b], k) => { const o = (q * 4 + k) * 3; data[o] = a; data[o + 1] = b; colours[o + 2] = 0xff3080e0; });
    index.set([q * 4, q * 4 + 1, q * 4 + 2, q * 4, q * 4 + 2, q * 4 + 3], q * 6);
  }
  gl.bindBuffer(gl.ARRAY_BUFFER, gl.createBuffer());
  gl.bufferData(gl.ARRAY_BUFFER, data, gl.DYNAMIC_DRAW);
  gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, gl.createBuffer());
  gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, index, gl.STATIC_DRAW);
  const p = gl.getAttribLocation(program, 'p'), c = gl.getAttribLocation(program, 'c');
  gl.enableVertexAttribArray(p); gl.vertexAttribPointer(p, 2, gl.FLOAT, false, 12, 0);
  gl.enableVertexAttribArray(c); gl.vertexAttribPointer(c, 4, gl.UNSIGNED_BYTE, true, 12, 8);
  const pixel = new Uint8Array(4), times = [];
  for (let f = 0; f < 60; f++) {
    const t0 = performance.now();
    gl.bufferSubData(gl.ARRAY_BUFFER, 0, data);
    gl.clearColor(1, 1, 1, 1); gl.clear(gl.COLOR_BUFFER_BIT);
    gl.drawElements(gl.TRIANGLES, n * 6, gl.UNSIGNED_INT, 0);
    gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, pixel);
    times.push(performance.now() - t0);
  }
  return [...times].sort((a, b) => a - b)[30];
}, quads);
await browser.close();

const f = (ms) => `${ms.toFixed(1)} ms`;
const machine = `${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (other work was running on the machine)`;
console.log(JSON.stringify({ nodes, pageBytes: html.length, rawFloorMs, ...result }, null, 2));
const section = `## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — ${nodes.toLocaleString('en-US')} nodes, ${shape} sizes

- machine: ${machine}; chromium headless, WebGL via ${result.renderer}; viewport ${width}×${height}, device pixel ratio 1
- model: \`makeSyntheticModel(${nodes}, 1, '${shape}')\` (4 threads, depth up to ~60), ${result.nodesInLayout.toLocaleString('en-US')} nodes with bytes at the peak laid out; report page ${(html.length / 2 ** 20).toFixed(1)} MB (unpruned, for the benchmark)
- first paint after the model is ready (view tree + quick layout of the visible nodes + first frame; WebGL set-up overlaps decoding; the full layout follows in ${f(result.timings.fullLayoutMs)}): **${f(result.firstPaintMs)}** (goal ≤ 300 ms); of which view tree ${f(result.timings.treeMs)}, quick layout ${f(result.timings.layoutMs)}
- zoom/pan frame, with labels, drawn and rasterised (timed up to a 1-pixel \`readPixels\`, which waits for the frame), 360 frames: median **${f(result.median)}** (goal ≤ 16 ms), p95 ${f(result.p95)}, max ${f(result.max)}; zoom in ${f(result.zoomInMedian)}, pan ${f(result.panMedian)}, zoom out ${f(result.zoomOutMedian)}
- quads per frame: up to ${result.maxRects.toLocaleString('en-US')} rectangles (median ${result.medianRects.toLocaleString('en-US')}) and up to ${result.maxGlyphs.toLocaleString('en-US')} glyphs (median ${result.medianGlyphs.toLocaleString('en-US')})
- floor of this machine at the same moment: raw WebGL2, one draw of ${quads.toLocaleString('en-US')} opaque quads on the same canvas, clear + draw + readPixels: **${f(rawFloorMs)}** median — the viewer's frame is the rasteriser's time, not JavaScript (the walk over the layout takes ~1 ms)

`;
const resultsPath = join(root, 'bench/viewer/RESULTS.md');
const header = '# Viewer benchmark results\n\nProduced by `node bench/viewer/flame-frames.mjs` (see the script for what is measured). Newest first.\n\n';
const previous = existsSync(resultsPath) ? readFileSync(resultsPath, 'utf8').replace(header, '') : '';
writeFileSync(resultsPath, header + section + previous);
