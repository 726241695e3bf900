// The reporting commands on a real traced program: a script that keeps ten 1 MiB Buffers made in
// load() shows them under load at the peak, in every command and export.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../collector/lib/reader/index.js';
import { spawnSync } from 'node:child_process';
import { memviewBin, memviewProcess, scratch } from './cli-harness.js';

const MiB = 1 << 20;
let capture: string;

beforeAll(() => {
  const script = join(scratch, 'keeper.cjs');
  writeFileSync(script, [
    'const kept = [];',
    'function load() { for (let i = 0; i < 10; i++) kept.push(Buffer.alloc(1 << 20, 1)); }',
    'load();',
  ].join('\n'));
  capture = join(scratch, 'keeper.bin');
  const run = memviewProcess(['run', '-q', '-f', '-o', capture, script]);
  expect(run.status, run.stderr).toBe(0);
}, 60_000);

describe('a real program', () => {
  it('summary shows load() holding its 10 MiB at the peak', () => {
    const { status, stdout } = memviewProcess(['summary', '--rows', '100', capture]);
    expect(status).toBe(0);
    const loadRow = stdout.split('\n').find((line) => / load +.*keeper\.cjs:2/.test(line));
    expect(loadRow).toBeDefined();
    const [, totalBytes, totalAllocations] = /^\s*\S+ \S*B\s+[\d,]+\s+(\d+\.\d+ MiB)\s+([\d,]+)/.exec(loadRow!)!;
    expect(totalBytes).toBe('10.0 MiB');
    expect(Number(totalAllocations)).toBeGreaterThanOrEqual(10);
  });

  it('tree shows load under the script, node internals hidden', () => {
    const { status, stdout } = memviewProcess(['tree', capture]);
    expect(status).toBe(0);
    expect(stdout).toMatch(/10\.0 MiB +\d+\.\d% +load +.*keeper\.cjs:2/);
    expect(stdout).not.toMatch(/Module\._compile/);
    expect(memviewProcess(['tree', '--show-internals', capture]).stdout).toMatch(/Module\._compile/);
  });

  it('--hide-native folds the allocator frames into load()', () => {
    const tree = memviewProcess(['tree', '--hide-native', capture]);
    expect(tree.stdout).not.toMatch(/node::/);
    expect(tree.stdout).toMatch(/10\.0 MiB +\d+\.\d% +load +.*keeper\.cjs:2/);
    const summary = memviewProcess(['summary', '--hide-native', '--sort', 'own', capture]);
    expect(summary.stdout).toMatch(/\n +10\.0 MiB +\d+ +10\.0 MiB +\d+ +load /);
  });

  it('every line of summary and tree fits a narrow terminal, deep branches included', () => {
    for (const argv of [['tree', '--show-internals', '--min-percent', '0.1'], ['summary', '--show-internals', '-n', '60']]) {
      const { status, stdout } = memviewProcess([...argv, capture], { env: { COLUMNS: '60' } });
      expect(status).toBe(0);
      for (const line of stdout.trimEnd().split('\n')) expect([...line].length, line).toBeLessThanOrEqual(60);
    }
  });

  it('an export to a reader that stops early ends quietly', () => {
    const pipeline = spawnSync('bash', ['-c', `"${process.execPath}" "${memviewBin}" export --format collapsed "${capture}" | (exec 0<&-; sleep 0.5); echo "status=\${PIPESTATUS[0]}"`], { encoding: 'utf8' });
    expect(pipeline.stdout).toMatch(/status=0/);
    expect(pipeline.stderr).not.toMatch(/EPIPE|node:events/);
  });

  it('collapsed stacks add up to the peak, and load’s stacks to 10 MiB and more', async () => {
    const output = join(scratch, 'keeper.folded');
    expect(memviewProcess(['export', '--format', 'collapsed', '-o', output, capture]).status).toBe(0);
    const lines = readFileSync(output, 'utf8').trimEnd().split('\n');
    const value = (line: string) => Number(line.slice(line.lastIndexOf(' ') + 1));
    const model = await readCaptureFile(capture);
    expect(lines.reduce((total, line) => total + value(line), 0)).toBe(model.stats.peakBytes);
    const underLoad = lines.filter((line) => /;load \(.*keeper\.cjs:2\)/.test(line)).reduce((total, line) => total + value(line), 0);
    expect(underLoad).toBeGreaterThanOrEqual(10 * MiB);
    expect(underLoad).toBeLessThan(11 * MiB);
  });
});
