// `memview summary`, `tree` and `export` on a capture with known answers (test/cli/known-capture.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { summaryText } from '../../cli/commands/summary.js';
import { treeText } from '../../cli/commands/tree.js';
import { collapsedStacks } from '../../cli/export/collapsed.js';
import { plainPalette } from '../../cli/terminal/style.js';
import { readCaptureFile } from '../../collector/lib/reader/index.js';
import type { CaptureModel } from '../../viewer/model/types.js';
import { memview, scratchFile } from './cli-harness.js';
import { knownAnswers, knownCapture, MiB } from './known-capture.js';
import { decodeProfile } from './protobuf-decode.js';
import { SyntheticCapture } from '../support/synthetic-capture.js';

let capturePath: string;
let model: CaptureModel;

beforeAll(async () => {
  capturePath = scratchFile('known.bin', knownCapture().toBytes({ codec: 'lz4' }));
  model = await readCaptureFile(capturePath);
});

/** The rows of the summary table: function → [own bytes, own allocs, total bytes, total allocs] as printed. */
function tableRows(stdout: string): Record<string, string[]> {
  const rows: Record<string, string[]> = {};
  for (const line of stdout.split('\n')) {
    const match = /^\s*(\S+ \S*B|\d+ B|0 B)\s+([\d,]+)\s+(\S+ \S*B)\s+([\d,]+)\s+(\S+)/.exec(line);
    if (match) rows[match[5]] = [match[1], match[2], match[3], match[4]];
  }
  return rows;
}

describe('memview summary', () => {
  it('shows own and total bytes and allocations per function at the peak, heaviest total first', async () => {
    const { status, stdout, stderr } = await memview('summary', '--show-internals', capturePath);
    expect(status).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toMatch(/4\.00 MiB in 5 allocations live at the peak, at 0 ms/);
    const rows = tableRows(stdout);
    expect(rows.load).toEqual(['4.00 MiB', '2', '4.00 MiB', '2']);
    expect(rows.parse).toEqual(['576 B', '2', '576 B', '2']);
    expect(rows.work).toEqual(['2.00 KiB', '1', '2.00 KiB', '1']);
    expect(rows.main).toEqual(['0 B', '0', '4.00 MiB', '4']);
    const order = Object.keys(rows);
    expect(order.indexOf('Module._load')).toBeLessThan(order.indexOf('load'));
    expect(order.indexOf('load')).toBeLessThan(order.indexOf('work'));
    expect(order.indexOf('work')).toBeLessThan(order.indexOf('parse'));
  });

  it('folds node internals into their callers unless --show-internals', async () => {
    const rows = tableRows((await memview('summary', capturePath)).stdout);
    expect(Object.keys(rows)).toEqual(['main', 'load', 'work', 'parse']);
  });

  it('--sort own puts the allocating functions first; --sort count orders by allocations', async () => {
    const own = Object.keys(tableRows((await memview('summary', '--sort', 'own', capturePath)).stdout));
    expect(own.slice(0, 3)).toEqual(['load', 'work', 'parse']);
    const count = Object.keys(tableRows((await memview('summary', '--sort=count', '--show-internals', capturePath)).stdout));
    expect(count.slice(0, 2)).toEqual(['Module._load', 'main']);
    expect(count.indexOf('work')).toBe(count.length - 1);
  });

  it('--rows limits the table and says how many more there are', async () => {
    const { stdout } = await memview('summary', '--rows', '2', capturePath);
    expect(Object.keys(tableRows(stdout))).toHaveLength(2);
    expect(stdout).toMatch(/… 2 more functions \(--rows 4 shows them all\)/);
  });

  it('--leaks and --temporary-allocations[=N] report those views', async () => {
    const leaks = tableRows((await memview('summary', '--leaks', capturePath)).stdout);
    expect(leaks.load).toEqual(['3.00 MiB', '1', '3.00 MiB', '1']);
    const temporary = await memview('summary', '--temporary-allocations', capturePath);
    expect(temporary.stdout).toMatch(/100 B in 1 allocations temporary \(freed before 1 more allocation\)/);
    expect(tableRows(temporary.stdout).parse).toEqual(['100 B', '1', '100 B', '1']);
    const ofTwo = tableRows((await memview('summary', '--temporary-allocations=2', capturePath)).stdout);
    expect(ofTwo.load).toEqual(['1.00 MiB', '1', '1.00 MiB', '1']);
    const spaced = tableRows((await memview('summary', '--temporary-allocations', '2', capturePath)).stdout);
    expect(spaced).toEqual(ofTwo);
  });

  it('fits the given width, cutting paths from the left and names from the right', () => {
    const long = { ...model, strings: model.strings.map((s) => s === '/app/server.js' ? `/very/long/directory/${'nested/'.repeat(8)}server.js` : s === 'load' ? `load${'X'.repeat(80)}` : s) };
    for (const columns of [60, 80, 100, 140]) {
      const text = summaryText(long, { file: 'x.bin', view: 'peak', sortKey: 'own', rowLimit: 10, showInternals: false, columns, palette: plainPalette });
      const lines = text.split('\n').slice(1);
      for (const line of lines) expect(line.length).toBeLessThanOrEqual(columns);
      const loadLine = lines.find((line) => line.includes('loadXXX'))!;
      expect(loadLine).toMatch(/…/);
      if (columns >= 100) expect(loadLine).toMatch(/…\/(nested\/)+server\.js:10:3$/);
    }
  });

  it('uses no colour codes when stdout is not a terminal', async () => {
    const { stdout } = await memview('summary', capturePath);
    expect(stdout).not.toMatch(/\x1b\[/);
  });
});

describe('memview tree', () => {
  it('prints a stack 20,000 frames deep, down to its allocation, instead of overflowing', async () => {
    const deep = new SyntheticCapture();
    deep.meta('pid', '1').meta('mainThreadId', '1');
    const pcs = Array.from({ length: 20_000 }, (_, depth) => deep.jsFunction(`f${depth}`, '/app/deep.js', depth + 1, 1));
    deep.thread(1).time(0, 1000).alloc(0x1000, 4096, deep.stack(pcs));
    const path = scratchFile('deep.bin', deep.toBytes({ codec: 'lz4' }));
    const { status, stdout, stderr } = await memview('tree', path);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const lines = stdout.split('\n');
    expect(lines.some((line) => /4\.00 KiB 100\.0%  f19999\b/.test(line))).toBe(true);
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(100);
  });

  it('prints the peak call tree without node internals, heaviest first, with thread levels', async () => {
    const { status, stdout } = await memview('tree', '--min-percent', '0', capturePath);
    expect(status).toBe(0);
    expect(stdout).not.toMatch(/Module\._load/);
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(/4\.00 MiB in 5 allocations live at the peak, at 0 ms$/);
    expect(lines[1]).toMatch(/^ *4\.00 MiB +100\.0% +all$/);
    expect(stdout).toMatch(/├─ +4\.00 MiB +100\.0% +thread 1 \(main\)\n│  └─ +4\.00 MiB +100\.0% +main +\/app\/server\.js:1:1\n│     ├─ +4\.00 MiB +99\.9% +load +\/app\/server\.js:10:3\n│     └─ +576 B +0\.014% +parse +\/app\/server\.js:20:5/);
    expect(stdout).toMatch(/└─ +2\.00 KiB +0\.049% +thread 2 \(worker\)\n   └─ +2\.00 KiB +0\.049% +work +\/app\/worker\.js:5:1/);
  });

  it('--show-internals keeps node’s own frames', async () => {
    const { stdout } = await memview('tree', '--show-internals', capturePath);
    expect(stdout).toMatch(/thread 1 \(main\)\n│  └─ +4\.00 MiB +100\.0% +Module\._load +node:internal\/modules\/cjs\/loader:1003:24/);
  });

  it('--biggest N keeps the N heaviest callees and summarises the rest', async () => {
    const { stdout } = await memview('tree', '--biggest', '1', '--min-percent', '0', capturePath);
    expect(stdout).toMatch(/load/);
    expect(stdout).not.toMatch(/parse/);
    expect(stdout).toMatch(/└─ … 1 more, 576 B/);
    expect(stdout).toMatch(/└─ … 1 more, 2\.00 KiB/);
  });

  it('summarises callees under --min-percent of the whole', () => {
    const text = treeText(model, { file: 'x', view: 'peak', biggest: 5, minFraction: 0.01, showInternals: false, columns: 100, palette: plainPalette });
    expect(text).not.toMatch(/parse|work/);
    expect(text).toMatch(/… 1 more, 576 B/);
    expect(text).toMatch(/… 1 more, 2\.00 KiB/);
  });

  it('--leaks shows what was live at the end', async () => {
    const { stdout } = await memview('tree', '--leaks', capturePath);
    expect(stdout).toMatch(/3\.00 MiB .*load/);
  });
});

function totalsByFunction(lines: string[]): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const line of lines) {
    const space = line.lastIndexOf(' ');
    const frames = line.slice(0, space).split(';');
    const leaf = frames[frames.length - 1].replace(/ \(.*\)$/, '');
    totals[leaf] = (totals[leaf] ?? 0) + Number(line.slice(space + 1));
  }
  return totals;
}

describe('memview export', () => {
  it('collapsed: one `a;b;c N` line per stack, totals equal to the model’s', async () => {
    const output = scratchFile('known.folded');
    const { status, stderr } = await memview('export', '--format', 'collapsed', '-o', output, capturePath);
    expect(status).toBe(0);
    expect(stderr).toMatch(/wrote .*known\.folded \(collapsed, live at the peak\)/);
    const lines = readFileSync(output, 'utf8').trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(/^[^;\n]+(;[^;\n]+)* \d+$/);
    expect(lines).toContain(`thread 1 (main);Module._load (node:internal/modules/cjs/loader:1003);main (/app/server.js:1);load (/app/server.js:10) ${4 * MiB}`);
    const sum = lines.reduce((total, line) => total + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
    expect(sum).toBe(model.stats.peakBytes);
    expect(totalsByFunction(lines)).toEqual({ load: 4 * MiB, parse: 576, work: 2048 });
  });

  it('collapsed comes in pieces of whole lines, which together are the file (a large capture\'s text exceeds one string)', () => {
    const whole = [...collapsedStacks(model, model.views.allocated, 'bytes')].join('');
    const pieces = [...collapsedStacks(model, model.views.allocated, 'bytes', 40)];
    expect(whole.split('\n').length).toBeGreaterThan(3);
    expect(pieces.length).toBeGreaterThan(1);
    for (const piece of pieces) expect(piece.endsWith('\n')).toBe(true);
    expect(pieces.join('')).toBe(whole);
  });

  it('collapsed --count --leaks weighs leaked stacks by allocations', async () => {
    const output = scratchFile('leaks.folded');
    await memview('export', '--format=collapsed', '--count', '--leaks', '-o', output, capturePath);
    expect(totalsByFunction(readFileSync(output, 'utf8').trimEnd().split('\n'))).toEqual({ load: 1, parse: 2, work: 1 });
  });

  it('speedscope: a file that follows the schema, with byte and allocation profiles summing to the view', async () => {
    const output = scratchFile('known.speedscope.json');
    expect((await memview('export', '--format', 'speedscope', '-o', output, capturePath)).status).toBe(0);
    const file = JSON.parse(readFileSync(output, 'utf8'));
    expect(file.$schema).toBe('https://www.speedscope.app/file-format-schema.json');
    expect(Object.keys(file).sort()).toEqual(['$schema', 'activeProfileIndex', 'exporter', 'name', 'profiles', 'shared']);
    expect(file.activeProfileIndex).toBe(0);
    for (const frame of file.shared.frames) {
      expect(typeof frame.name).toBe('string');
      for (const key of Object.keys(frame)) expect(['name', 'file', 'line', 'col']).toContain(key);
    }
    expect(file.shared.frames).toContainEqual({ name: 'load', file: '/app/server.js', line: 10, col: 3 });
    const [bytes, counts] = file.profiles;
    for (const profile of file.profiles) {
      expect(profile.type).toBe('sampled');
      expect(profile.startValue).toBe(0);
      expect(profile.samples.length).toBe(profile.weights.length);
      for (const stack of profile.samples) for (const index of stack) expect(file.shared.frames[index]).toBeDefined();
      expect(profile.endValue).toBe(profile.weights.reduce((a: number, b: number) => a + b, 0));
    }
    expect(bytes.unit).toBe('bytes');
    expect(bytes.endValue).toBe(4 * MiB + 576 + 2048);
    expect(counts.unit).toBe('none');
    expect(counts.endValue).toBe(5);
    const loadStack = bytes.samples[bytes.weights.indexOf(4 * MiB)].map((i: number) => file.shared.frames[i].name);
    expect(loadStack).toEqual(['thread 1 (main)', 'Module._load', 'main', 'load']);
  });

  it('pprof: gzip-compressed profile.proto with alloc/inuse sample types, parsed back', async () => {
    const output = scratchFile('known.pb.gz');
    expect((await memview('export', '--format', 'pprof', '-o', output, capturePath)).status).toBe(0);
    const bytes = readFileSync(output);
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);
    const profile = decodeProfile(gunzipSync(bytes));
    expect(profile.strings[0]).toBe('');
    expect(profile.sampleTypes).toEqual([
      { type: 'alloc_objects', unit: 'count' }, { type: 'alloc_space', unit: 'bytes' },
      { type: 'inuse_objects', unit: 'count' }, { type: 'inuse_space', unit: 'bytes' },
    ]);
    expect(profile.defaultSampleType).toBe('inuse_space');
    expect(profile.comments[0]).toMatch(/inuse_\* = live at the peak/);
    const byLeaf: Record<string, number[]> = {};
    for (const sample of profile.samples) {
      expect(sample.values).toHaveLength(4);
      const leaf = profile.locations.get(sample.locationIds[0])!;
      const name = profile.functions.get(leaf[0].functionId)!.name;
      byLeaf[name] = (byLeaf[name] ?? [0, 0, 0, 0]).map((v, i) => v + sample.values[i]);
      // Leaf first: the outermost location is the thread.
      const root = profile.locations.get(sample.locationIds[sample.locationIds.length - 1])!;
      expect(profile.functions.get(root[0].functionId)!.name).toMatch(/^thread /);
    }
    const { allocated, peak } = knownAnswers;
    expect(byLeaf.load).toEqual([allocated.load.count, allocated.load.bytes, peak.load.count, peak.load.bytes]);
    expect(byLeaf.parse).toEqual([allocated.parse.count, allocated.parse.bytes, peak.parse.count, peak.parse.bytes]);
    expect(byLeaf.work).toEqual([1, 2048, 1, 2048]);
    const loadFunction = [...profile.functions.values()].find((f) => f.name === 'load');
    expect(loadFunction).toEqual({ name: 'load', file: '/app/server.js', startLine: 10 });
  });

  it('pprof --leaks puts the leaks in inuse_*', async () => {
    const output = scratchFile('leaks.pb.gz');
    await memview('export', '--format', 'pprof', '--leaks', '-o', output, capturePath);
    const profile = decodeProfile(gunzipSync(readFileSync(output)));
    const inuseBytes = profile.samples.reduce((total, sample) => total + sample.values[3], 0);
    expect(inuseBytes).toBe(3 * MiB + 576 + 2048);
    expect(profile.comments[0]).toMatch(/leaked/);
  });

  it('refuses an unknown format and a missing --format', async () => {
    const unknown = await memview('export', '--format', 'perf', capturePath);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/unknown format 'perf'/);
    expect((await memview('export', capturePath)).stderr).toMatch(/missing --format/);
  });

  it('writes to standard output without -o', async () => {
    const { status, stdout } = await memview('export', '--format', 'collapsed', capturePath);
    expect(status).toBe(0);
    expect(stdout).toMatch(/;load \(\/app\/server\.js:10\) 4194304\n/);
  });
});

export { writeFileSync };
