// `memview stats`: a person's summary, one JSON object for scripts, and one clear line when the
// file cannot be read.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CaptureStats } from '../../viewer/model/types.js';
import { programCapture } from './program-fixture.js';
import { memview } from '../cli/cli-harness.js';

const directory = mkdtempSync(join(tmpdir(), 'memview-stats-'));

function writeCapture(name: string, bytes: Uint8Array): string {
  const path = join(directory, name);
  writeFileSync(path, bytes);
  return path;
}

function sampleCapture(): Uint8Array {
  const { capture, stacks } = programCapture();
  capture.time(1_000_000_000, 64 << 20)
    .alloc(0x1000, 3 << 20, stacks.load).alloc(0x2000, 512, stacks.parse).alloc(0x3000, 100, stacks.parse)
    .free(0x3000).time(1_500_000_000, 60 << 20);
  return capture.toBytes({ codec: 'lz4' });
}

afterEach(() => vi.restoreAllMocks());

describe('memview stats', () => {
  it('--json prints exactly one CaptureStats object', async () => {
    const path = writeCapture('sample.bin', sampleCapture());
    const { status, stdout, stderr } = await memview('stats', '--json', path);
    expect(status).toBe(0);
    expect(stderr).toBe('');
    const stats = JSON.parse(stdout) as CaptureStats;
    expect(stats).toMatchObject({
      totalAllocations: 3, totalBytesAllocated: (3 << 20) + 612, peakBytes: (3 << 20) + 612, leakedBytes: (3 << 20) + 512,
      peakRssBytes: 64 << 20, durationMs: 1500, truncated: false,
    });
    expect(stats.topByBytes[0]).toEqual({ function: 'load', file: '/app/server.js', line: 10, bytes: 3 << 20, count: 1 });
  });

  it('-n limits the top locations', async () => {
    const path = writeCapture('sample-n.bin', sampleCapture());
    const stats = JSON.parse((await memview('stats', '--json', '-n', '1', path)).stdout) as CaptureStats;
    expect(stats.topByBytes.map((l) => l.function)).toEqual(['load']);
    expect(stats.topByCount.map((l) => l.function)).toEqual(['parse']);
  });

  it('prints aligned figures with units, a size histogram and the top locations for a person', async () => {
    const path = writeCapture('sample-human.bin', sampleCapture());
    const { status, stdout } = await memview('stats', '--temporary-allocations=2', path);
    expect(status).toBe(0);
    expect(stdout).toMatch(/peak memory\s+3\.00 MiB\s+at 1\.00 s/);
    expect(stdout).toMatch(/leaked\s+3\.00 MiB\s+in 2 allocations/);
    expect(stdout).toMatch(/temporary\s+100 B\s+in 1 allocation freed before 2 more allocations on their thread/);
    expect(stdout).toMatch(/\n +64 B \.\. 128 B +\|#{40}\| +1\n/);
    expect(stdout).toMatch(/\n +512 B \.\. 1 KiB +\|#{40}\| +1\n/);
    expect(stdout).toMatch(/\n +2 MiB \.\. 4 MiB +\|#{40}\| +1\n/);
    expect(stdout).toMatch(/3\.00 MiB\s+1\s+load\s+\/app\/server\.js:10/);
    expect(stdout).toMatch(/Threads\n +1 +main +3 allocations/);
  });

  it('warns on stderr about a truncated capture and still prints its figures', async () => {
    const { capture, stacks } = programCapture();
    const path = writeCapture('killed.bin', capture.alloc(0x1000, 10, stacks.load).toBytes({ trailer: false }));
    const human = await memview('stats', path);
    expect(human.status).toBe(0);
    expect(human.stderr).toMatch(/warning: .*killed\.bin has no trailer/);
    const json = await memview('stats', '--json', path);
    expect(JSON.parse(json.stdout).truncated).toBe(true);
  });

  it('explains a missing file in one line and exits 1', async () => {
    const { status, stderr, stdout } = await memview('stats', join(directory, 'missing.bin'));
    expect(status).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(`memview: ${join(directory, 'missing.bin')}: no such file`);
  });

  it('explains a corrupt file in one line naming the file, the chunk and the offset', async () => {
    const bytes = sampleCapture();
    bytes[16 + 24 + 5] ^= 0xff;
    const path = writeCapture('corrupt.bin', bytes);
    const { status, stderr } = await memview('stats', path);
    expect(status).toBe(1);
    expect(stderr.split('\n')).toHaveLength(1);
    expect(stderr).toMatch(new RegExp(`^memview: ${path}: chunk 0 at offset 16: checksum mismatch`));
  });

  it('rejects a bad -n as a usage error', async () => {
    const { status, stderr } = await memview('stats', '-n', 'zero', 'x.bin');
    expect(status).toBe(2);
    expect(stderr).toMatch(/-n wants a positive whole number, not 'zero'/);
  });
});
