// Mistakes get one clear line: a usage mistake exits 2 with the closest flag and the usage; a missing,
// corrupt or cut capture exits 1 naming the file (a capture without its trailer still reports, with
// a warning). Long decodes show a progress bar on a terminal only.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { SyntheticCapture } from '../support/synthetic-capture.js';
import { ProgressBar, progressLine } from '../../cli/terminal/progress.js';
import { coloursWanted, terminalColumns } from '../../cli/terminal/style.js';
import { truncatePath } from '../../cli/terminal/text.js';
import { memview, memviewProcess, scratchFile } from './cli-harness.js';
import { knownCapture } from './known-capture.js';

const commands = ['summary', 'tree', 'export --format collapsed'];

describe('usage mistakes', () => {
  it('an unknown flag names the closest one and prints the usage, exit status 2', async () => {
    const path = scratchFile('usage.bin', knownCapture().toBytes());
    const summary = await memview('summary', '--row', '3', path);
    expect(summary.status).toBe(2);
    expect(summary.stderr).toMatch(/^memview: unknown option '--row' \(did you mean '--rows'\?\)\nusage: memview summary /);
    const tree = await memview('tree', '--show-internal', path);
    expect(tree.stderr).toMatch(/did you mean '--show-internals'/);
    const exported = await memview('export', '--format', 'pprof', '--leak', path);
    expect(exported.stderr).toMatch(/did you mean '--leaks'/);
  });

  it('bad values and exclusive options are usage mistakes', async () => {
    const path = scratchFile('values.bin', knownCapture().toBytes());
    expect((await memview('summary', '--sort', 'size', path)).stderr).toMatch(/--sort takes bytes, count, own, not 'size'/);
    expect((await memview('summary', '--rows', '0', path)).status).toBe(2);
    expect((await memview('tree', '--leaks', '--temporary-allocations', path)).stderr).toMatch(/exclusive/);
    expect((await memview('summary')).stderr).toMatch(/missing the capture file/);
  });

  it('a negative number is refused in the command\'s own words, not node\'s "argument is ambiguous"', async () => {
    const path = scratchFile('negative.bin', knownCapture().toBytes());
    const script = scratchFile('negative.cjs', '');
    const cases: [string[], RegExp][] = [
      [['stats', '-n', '-1', path], /^memview: -n wants a positive whole number, not '-1'\n/],
      [['tree', '--biggest', '-3', path], /^memview: --biggest wants a positive whole number, not '-3'\n/],
      [['tree', '--min-percent', '-1', path], /^memview: --min-percent wants a number from 0 to 100, not '-1'\n/],
      [['attach', '--duration', '-1', '12345'], /^memview: --duration wants a number of seconds, not '-1'\n/],
      [['viewer', '--port', '-1'], /^memview: --port takes a port number, not '-1'\n/],
      [['run', '--sample-interval', '-5', script], /^memview: --sample-interval must be a whole number of milliseconds \(1-60000\), not '-5'\n/],
    ];
    for (const [argv, message] of cases) {
      const { status, stderr } = await memview(...argv);
      expect(status).toBe(2);
      expect(stderr).toMatch(message);
      expect(stderr).not.toMatch(/ambiguous/);
    }
    const dashValue = await memview('export', '-F', 'collapsed', '-o', '-x', path);
    expect(dashValue.stderr).toMatch(/^memview: -o needs a value; for one that starts with '-', write --output=VALUE\n/);
  });

  it('an option given last without its value says which one needs a value, not the parser\'s wording', async () => {
    const path = scratchFile('missing-value.bin', knownCapture().toBytes());
    for (const [argv, message] of [
      [['run', '-o'], /^memview: -o \(--output\) needs a value\n/],
      [['export', path, '--format'], /^memview: -F \(--format\) needs a value\n/],
    ] as const) {
      const { status, stderr } = await memview(...argv);
      expect(status).toBe(2);
      expect(stderr).toMatch(message);
      expect(stderr).not.toMatch(/argument missing/);
    }
  });

  it('a name that is no command and looks like a capture file is a missing file, exit status 1', async () => {
    for (const name of ['nonexistent.bin', 'captures/app']) {
      const { status, stderr } = await memview(name);
      expect(status).toBe(1);
      expect(stderr).toBe(`memview: no such capture file: ${name}`);
    }
    for (const command of [[], ['report', '-o', scratchFile('from-directory.html')], ['flamegraph', '-o', scratchFile('from-directory-flame.html')]]) {
      const directory = await memview(...command, scratchFile(''));
      expect(directory.status, command.join(' ')).toBe(1);
      expect(directory.stderr, command.join(' ')).toMatch(/^memview: .*: is a directory, not a capture file$/);
    }
  });

  it('an output file that cannot be written is "cannot write FILE: reason", without node\'s error code', async () => {
    const path = scratchFile('unwritable.bin', knownCapture().toBytes());
    const missingDirectory = await memview('report', '-o', scratchFile('nodir/r.html'), path);
    expect(missingDirectory.status).toBe(1);
    expect(missingDirectory.stderr).toMatch(/^memview: cannot write .*nodir\/r\.html: its directory does not exist$/);
    const directory = await memview('report', '-o', scratchFile(''), path);
    expect(directory.status).toBe(1);
    expect(directory.stderr).toMatch(/^memview: cannot write .*: it is a directory$/);
  });
});

describe('an output file the disk has no room for', () => {
  const mountPoint = scratchFile('full-disk');
  mkdirSync(mountPoint);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mountPoint]).status === 0;

  it.skipIf(!mounted)('report and export leave the file that was there before, and no part of the new one', async () => {
    try {
      const path = scratchFile('for-full-disk.bin', knownCapture().toBytes());
      const targets = { report: join(mountPoint, 'r.html'), export: join(mountPoint, 'e.json') };
      for (const target of Object.values(targets)) writeFileSync(target, 'made before');
      // Whatever room is left, taken: a write that fails half-way is what this is about.
      spawnSync('dd', ['if=/dev/zero', `of=${join(mountPoint, 'filler')}`, 'bs=4k'], { stdio: 'ignore' });
      const report = await memview('report', '-o', targets.report, path);
      const exported = await memview('export', '--format', 'speedscope', '-o', targets.export, path);
      for (const [outcome, target] of [[report, targets.report], [exported, targets.export]] as const) {
        expect(outcome.status).toBe(1);
        expect(outcome.stderr.trim()).toBe(`memview: cannot write ${target}: no space left on device`);
        expect(readFileSync(target, 'utf8')).toBe('made before');
      }
      expect(readdirSync(mountPoint).sort()).toEqual(['e.json', 'filler', 'r.html']);
    } finally {
      spawnSync('umount', [mountPoint]);
    }
  });
});

describe('unreadable captures', () => {
  for (const command of commands) {
    it(`${command}: a missing file, random bytes and a cut header each give one line naming the file, exit status 1`, async () => {
      const argv = command.split(' ');
      const missing = await memview(...argv, scratchFile('nowhere.bin'));
      expect(missing).toMatchObject({ status: 1, stdout: '' });
      expect(missing.stderr).toMatch(/^memview: .*nowhere\.bin: no such file$/);
      const random = await memview(...argv, scratchFile('random.bin', Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)));
      expect(random.status).toBe(1);
      expect(random.stderr).toMatch(/^memview: .*random\.bin: not a memview capture[^\n]*$/);
      const header = await memview(...argv, scratchFile('header.bin', knownCapture().toBytes().subarray(0, 10)));
      expect(header.status).toBe(1);
      expect(header.stderr).toMatch(/^memview: .*header\.bin: capture header is cut short[^\n]*$/);
      const directory = await memview(...argv, scratchFile(''));
      expect(directory.stderr).toMatch(/is a directory/);
    });
  }

  it('a capture cut in the middle still reports what it holds, with a warning', async () => {
    const bytes = knownCapture().toBytes({ trailer: false });
    const path = scratchFile('cut.bin', bytes);
    const { status, stdout, stderr } = await memview('summary', path);
    expect(status).toBe(0);
    expect(stderr).toMatch(/^memview: warning: .*cut\.bin has no trailer \(the process was killed, or writing the capture failed\); figures cover the 1 chunk of events written whole \(what came after the last one is lost\)/);
    expect(stdout).toMatch(/load/);
  });

  it('a damaged trailer says so, and the figures of every chunk before it are there', async () => {
    const bytes = knownCapture().toBytes();
    bytes[bytes.length - 4] ^= 0xff;  // inside the trailer's payload: its checksum no longer matches
    const path = scratchFile('damaged-trailer.bin', bytes);
    const { status, stdout, stderr } = await memview('summary', path);
    expect(status).toBe(0);
    expect(stderr).toMatch(/^memview: warning: .*damaged-trailer\.bin: its trailer is damaged \(its checksum does not match\); figures cover the 1 chunk of events before it, every one whole$/);
    expect(stdout).toMatch(/load/);
  });

  it('the report of a capture cut in the middle warns on stderr too, as the terminal commands do', async () => {
    const path = scratchFile('cut-report.bin', knownCapture().toBytes({ trailer: false }));
    const output = scratchFile('cut-report.html', '');
    const { status, stderr } = await memview('report', '-o', output, path);
    expect(status).toBe(0);
    expect(stderr).toMatch(/^memview: warning: .*cut-report\.bin has no trailer/);
  });

  it('an option that may take a value does not swallow the capture file (stats, summary)', async () => {
    const path = scratchFile('swallow.bin', knownCapture().toBytes());
    const stats = await memview('stats', '--json', '--temporary-allocations', path);
    expect(stats.status, stats.stderr).toBe(0);
    expect(JSON.parse(stats.stdout).totalAllocations).toBeGreaterThan(0);
    const summary = await memview('summary', '--sort', path);
    expect(summary.status).toBe(2);
    expect(summary.stderr).toMatch(/^memview: --sort takes bytes, count, own, not '.*swallow\.bin'/);
  });

  it('--count goes with collapsed stacks only: pprof and speedscope keep both measures', async () => {
    const path = scratchFile('count.bin', knownCapture().toBytes());
    const exported = await memview('export', '--format', 'pprof', '--count', '-o', scratchFile('count.pb', ''), path);
    expect(exported.status).toBe(2);
    expect(exported.stderr).toMatch(/^memview: --count weighs collapsed stacks; pprof keeps both bytes and allocations/);
  });

  it('a damaged chunk is one line with its offset; MEMVIEW_DEBUG=1 adds the stack', () => {
    const bytes = knownCapture().toBytes({ codec: 'stored' });
    bytes[bytes.length - 40] ^= 0xff;
    const path = scratchFile('damaged.bin', bytes);
    const plain = memviewProcess(['summary', path]);
    expect(plain.status).toBe(1);
    expect(plain.stderr.trim().split('\n')).toHaveLength(1);
    expect(plain.stderr).toMatch(/^memview: .*damaged\.bin: /);
    expect(plain.stderr).not.toMatch(/\n\s+at /);
    const debug = memviewProcess(['summary', path], { env: { MEMVIEW_DEBUG: '1' } });
    expect(debug.status).toBe(1);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });
});

describe('terminal output', () => {
  it('a progress line shows percent, bytes, rate and time left within the width', () => {
    const line = progressLine('decoding big.bin', 50 << 20, 200 << 20, 2, 100);
    expect(line).toMatch(/^decoding big\.bin \[#+\.+\]  25%  50\.0 MiB\/200 MiB  25\.0 MiB\/s  ETA 6s$/);
    expect(line.length).toBeLessThan(100);
    expect(progressLine('x', 1, 2, 1, 60).length).toBeLessThan(60);
  });

  it('the bar is drawn on a terminal, throttled, and cleared at the end; nothing when not a terminal', () => {
    let now = 0;
    const written: string[] = [];
    const stream = { isTTY: true, columns: 80, write: (text: string) => { written.push(text); return true; } };
    const bar = new ProgressBar('decoding', stream, true, () => now);
    bar.update(1, 100);
    now = 1000; bar.update(10, 100);
    now = 1050; bar.update(20, 100);
    now = 1200; bar.update(30, 100);
    bar.finish();
    expect(written).toHaveLength(3);
    expect(written[0]).toMatch(/^\rdecoding \[.*\]  10%/);
    expect(written[2]).toBe('\r\x1b[K');
    const quiet: string[] = [];
    const piped = new ProgressBar('decoding', { write: (text: string) => { quiet.push(text); return true; } }, false, () => now);
    now = 5000; piped.update(1, 2); piped.finish();
    expect(quiet).toEqual([]);
  });

  it('decoding shows the bar on a terminal stderr and clears it before the report', async () => {
    const capture = new SyntheticCapture();
    capture.meta('pid', '1').meta('mainThreadId', '1');
    const stack = capture.stack([capture.jsFunction('JS:~churn /app/x.js:1:1', '/app/x.js', 1, 1)]);
    capture.thread(1).time(0, 1000);
    for (let i = 0; i < 40; i++) capture.alloc(0x1000 * (i + 1), 100, stack).endChunk();
    const path = scratchFile('chunky.bin', capture.toBytes());
    const runWithStderr = async (isTTY: boolean) => {
      const written: string[] = [];
      let now = 0;
      vi.spyOn(Date, 'now').mockImplementation(() => (now += 250));
      const write = vi.spyOn(process.stderr, 'write').mockImplementation((text: string | Uint8Array) => { written.push(String(text)); return true; });
      const saved = process.stderr.isTTY;
      process.stderr.isTTY = isTTY;
      try {
        expect((await memview('summary', path)).status).toBe(0);
      } finally {
        process.stderr.isTTY = saved;
        write.mockRestore();
        vi.mocked(Date.now).mockRestore();
      }
      return written;
    };
    const onTerminal = await runWithStderr(true);
    expect(onTerminal.some((text) => /^\rdecoding chunky\.bin \[#*\.*\] +\d+%  .*\/s  ETA /.test(text))).toBe(true);
    expect(onTerminal[onTerminal.length - 1]).toBe('\r\x1b[K');
    expect(await runWithStderr(false)).toEqual([]);
  });

  it('a piped run prints no progress and no colour', () => {
    const path = scratchFile('piped.bin', knownCapture().toBytes());
    const result = memviewProcess(['summary', path]);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).not.toMatch(/\x1b/);
  });

  it('colours only on a terminal with NO_COLOR unset or empty; 100 columns when piped', () => {
    const saved = process.env.NO_COLOR;
    try {
      delete process.env.NO_COLOR;
      expect(coloursWanted({ isTTY: true })).toBe(true);
      expect(coloursWanted({ isTTY: false })).toBe(false);
      process.env.NO_COLOR = '1';
      expect(coloursWanted({ isTTY: true })).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.NO_COLOR; else process.env.NO_COLOR = saved;
    }
    expect(terminalColumns({ isTTY: true, columns: 132 })).toBe(132);
    const savedColumns = process.env.COLUMNS;
    delete process.env.COLUMNS;
    expect(terminalColumns({ isTTY: false })).toBe(100);
    if (savedColumns !== undefined) process.env.COLUMNS = savedColumns;
  });

  it('paths lose whole leading directories first', () => {
    expect(truncatePath('/home/me/project/src/server.js:10:3', 24)).toBe('…/src/server.js:10:3');
    expect(truncatePath('/a/very-long-file-name-indeed.js:1', 12)).toBe('…indeed.js:1');
    expect(truncatePath('/short.js', 20)).toBe('/short.js');
  });
});

describe('what inlining does to the figures', () => {
  // knownCapture: three of its six allocations are under `*parse`, code TurboFan optimized.
  it('stats says what inlining does when many allocations are under optimized JavaScript', async () => {
    const path = scratchFile('optimized.bin', knownCapture().toBytes());
    const json = await memview('stats', '--json', path);
    expect(JSON.parse(json.stdout).allocationsInOptimizedJs).toBe(0.5);
    const human = await memview('stats', path);
    const note = human.stdout.slice(human.stdout.indexOf('Note:')).replace(/\n  /g, ' ');
    expect(note).toMatch(/^Note: 50% of the allocations were made under optimized JavaScript, where V8 inlines small functions into their callers: .* 'memview run --no-inlining' keeps every function's frame\.\n/);
    expect(Math.max(...human.stdout.split('\n').map((line) => line.length))).toBeLessThanOrEqual(100);
  });

  it('says nothing of it for a capture made with --no-inlining', async () => {
    const path = scratchFile('no-inlining.bin', knownCapture().meta('inlining', 'off').toBytes());
    const human = await memview('stats', path);
    expect(human.status).toBe(0);
    expect(human.stdout).not.toMatch(/Note:/);
  });
});
