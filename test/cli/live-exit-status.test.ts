// `memview live` ends as `memview run` does: with the program's status when the program ended by
// itself (128 + the signal's number when a signal killed it), and with one line and status 1 when
// the program never started, whether or not an earlier capture is at the -o path (whose figures
// must never be shown as this run's, and which stays as it was).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../collector/lib/reader/index.js';
import { hasTmux, memviewBin, scratch, scratchFile } from './cli-harness.js';
import { knownCapture } from './known-capture.js';

const session = `memview-live-exit-${process.pid}`;
const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForScreen(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = tmux('capture-pane', '-t', session, '-p', '-J');
    if (pattern.test(text)) return text;
    await sleep(150);
  }
  throw new Error(`the screen never showed ${pattern}:\n${text}`);
}

/** Runs `memview live ARGS` in a fresh tmux session; the shell then prints LIVE-EXIT=<status>. */
function startLive(args: string): void {
  tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '30', 'env -u NODE_EXTRA_CA_CERTS -u NODE_OPTIONS bash --norc --noprofile');
  tmux('send-keys', '-t', session, `cd ${scratch} && PS1='$ ' && clear && ${process.execPath} ${memviewBin} live ${args}; echo "LIVE-EXIT=$?"`, 'Enter');
}

afterEach(() => {
  if (hasTmux) try { tmux('kill-session', '-t', session); } catch { /* already gone */ }
});

describe.runIf(hasTmux)('memview live exit status', () => {
  it('is the program\'s own status when it ended by itself', async () => {
    const script = scratchFile('exit6.cjs', 'let n = 0; const timer = setInterval(() => { Buffer.alloc(10000); if (++n > 10) { clearInterval(timer); process.exitCode = 6; } }, 30);');
    // An earlier capture at -o is replaced by this run's once the run has written it.
    const capture = scratchFile('exit6.bin', knownCapture().toBytes({ codec: 'lz4' }));
    startLive(`-f -o ${capture} ${script}`);
    await waitForScreen(/the program exited with status 6/);
    tmux('send-keys', '-t', session, 'q');
    expect(await waitForScreen(/LIVE-EXIT=\d+/)).toMatch(/LIVE-EXIT=6/);
    const model = await readCaptureFile(capture);
    expect(model.meta.commandLine.join(' ')).toContain('exit6.cjs');
    expect(readdirSync(scratch).filter((name) => name.startsWith('exit6.bin.') && name.endsWith('.partial'))).toEqual([]);
  }, 60_000);

  it('is 128 + the signal\'s number when a signal killed the program', async () => {
    const script = scratchFile('killed.cjs', 'setTimeout(() => process.kill(process.pid, "SIGKILL"), 300); setInterval(() => Buffer.alloc(1000), 20);');
    startLive(`-f -o ${join(scratch, 'killed.bin')} ${script}`);
    await waitForScreen(/the program exited with status 137/);
    tmux('send-keys', '-t', session, 'q');
    expect(await waitForScreen(/LIVE-EXIT=\d+/)).toMatch(/LIVE-EXIT=137/);
  }, 60_000);

  it('-f -o onto a directory or onto the script itself is refused before the program runs, status 1', async () => {
    const script = scratchFile('live-victim.cjs', 'setInterval(() => {}, 1000);');
    mkdirSync(join(scratch, 'live-captures'), { recursive: true });
    for (const [output, message] of [
      [join(scratch, 'live-captures'), /memview: cannot write the capture to .*live-captures: it is a directory/],
      [script, /memview: .*live-victim\.cjs is the program to run; choose another capture path/],
    ] as const) {
      startLive(`-f -o ${output} ${script}`);
      const after = await waitForScreen(/LIVE-EXIT=\d+/);
      expect(after).toMatch(message);
      expect(after).toMatch(/LIVE-EXIT=1/);
      tmux('kill-session', '-t', session);
    }
    expect(readFileSync(script, 'utf8')).toBe('setInterval(() => {}, 1000);');
  }, 60_000);

  it('a capture directory that does not exist is "cannot write FILE: reason" and status 1', async () => {
    const script = scratchFile('nodir.cjs', '');
    startLive(`-f -o ${join(scratch, 'nodir', 'lv.bin')} ${script}`);
    const after = await waitForScreen(/LIVE-EXIT=\d+/);
    expect(after).toMatch(/memview: cannot write .*nodir\/lv\.bin\.log: its directory does not exist/);
    expect(after).toMatch(/LIVE-EXIT=1/);
  }, 60_000);

  it.each([['no earlier capture', false], ['an earlier capture at -o', true]])('a command that is not found is one line and status 1, with %s', async (_, earlier) => {
    const capture = join(scratch, `notfound-${earlier}.bin`);
    const earlierBytes = knownCapture().toBytes({ codec: 'lz4' });
    if (earlier) writeFileSync(capture, earlierBytes);
    startLive(`-f -o ${capture} -- memview-no-such-command`);
    const after = await waitForScreen(/LIVE-EXIT=\d+/);
    expect(after).toMatch(/memview: cannot start 'memview-no-such-command': command not found/);
    expect(after).toMatch(/LIVE-EXIT=1/);
    expect(after).not.toMatch(/load|server\.js/); // nothing of the earlier capture's figures
    if (earlier) expect(readFileSync(capture)).toEqual(Buffer.from(earlierBytes));
  }, 60_000);
});
