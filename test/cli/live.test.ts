// `memview live` in a real terminal (tmux): the screen shows a known allocation site with its live
// bytes while the program runs, keys switch thread and sort, the program's output goes to the log
// rather than the screen, and q stops the program and gives the terminal back.
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { liveScreen } from '../../cli/terminal/live-screen.js';
import { plainPalette } from '../../cli/terminal/style.js';
import { readCaptureFile } from '../../collector/lib/reader/index.js';
import { childEnvironment, hasTmux, memviewBin, scratch, scratchFile } from './cli-harness.js';
import { knownCapture, MiB } from './known-capture.js';


const session = `memview-live-test-${process.pid}`;
const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
const screen = () => tmux('capture-pane', '-t', session, '-p');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForScreen(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = screen();
    if (pattern.test(text)) return text;
    await sleep(150);
  }
  throw new Error(`the screen never showed ${pattern}:\n${text}`);
}

afterAll(() => {
  if (hasTmux) try { tmux('kill-session', '-t', session); } catch { /* already gone */ }
});

describe.runIf(hasTmux)('memview live in a terminal', () => {
  it('shows live bytes per function and thread, keeps the program output off the screen, q quits and restores the terminal', async () => {
    const script = join(scratch, 'hold.cjs');
    writeFileSync(script, [
      'const kept = [];',
      'function hold() { for (let i = 0; i < 20; i++) kept.push(Buffer.alloc(1 << 20, 1)); }',
      'hold();',
      'let n = 0;',
      'setInterval(function chatter() { console.log("PROGRAM-OUTPUT", n++); }, 20);',
    ].join('\n'));
    const capture = join(scratch, 'live.bin');
    tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '30', 'env -u NODE_EXTRA_CA_CERTS -u NODE_OPTIONS bash --norc --noprofile');
    tmux('send-keys', '-t', session, `cd ${scratch} && PS1='$ ' && clear && ${process.execPath} ${memviewBin} live -f -o ${capture} ${script}; echo "LIVE-EXIT=$?"`, 'Enter');

    // Interpreted frames carry the call's column, Sparkplug-compiled ones the function's: hold()
    // can show as two rows once it tiers up mid-loop, both on line 2.
    const running = await waitForScreen(/\d+\.\d+ MiB +\d+ +hold +.*hold\.cjs:2:/);
    expect(running).toMatch(/^memview live — .*hold\.cjs/m);
    expect(running).toMatch(/heap \d+\.\d+ MiB +tracked \d+\.\d+ MiB +RSS \d+\.\d+ MiB/);
    expect(running).toMatch(/threads: +all +thread \d+ \(main\) \d+\.\d+ MiB/);
    expect(running).toMatch(/program output → .*live\.bin\.log/);
    expect(running).not.toMatch(/PROGRAM-OUTPUT/);

    tmux('send-keys', '-t', session, 't');
    await waitForScreen(/live now, .*thread \d+ \(main\), sorted by bytes/);
    tmux('send-keys', '-t', session, 's');
    await waitForScreen(/sorted by count/);

    tmux('send-keys', '-t', session, 'q');
    const after = await waitForScreen(/LIVE-EXIT=0/);
    expect(after).not.toMatch(/LIVE BYTES/); // the alternate screen is gone
    expect(after).toMatch(/memview: capture .*live\.bin/);
    expect(readFileSync(`${capture}.log`, 'utf8')).toMatch(/PROGRAM-OUTPUT 3/);
    // The capture stays for later; stopped by SIGINT, it has no trailer but reads (collector: no signal hook yet).
    expect(existsSync(capture)).toBe(true);
    const model = await readCaptureFile(capture);
    expect(model.strings).toContain('hold');
  }, 60_000);
});

describe.runIf(hasTmux)('memview live --follow', () => {
  it('watches a capture another memview writes, until its trailer', async () => {
    const script = join(scratch, 'grow.cjs');
    writeFileSync(script, [
      'const kept = [];',
      'let n = 0;',
      'const timer = setInterval(function grow() { kept.push(Buffer.alloc(1 << 20, 1)); if (++n === 12) { clearInterval(timer); setTimeout(() => {}, 1500); } }, 100);',
    ].join('\n'));
    const capture = join(scratch, 'followed.bin');
    const followSession = `${session}-follow`;
    tmux('new-session', '-d', '-s', followSession, '-x', '110', '-y', '24', 'env -u NODE_EXTRA_CA_CERTS -u NODE_OPTIONS bash --norc --noprofile');
    try {
      tmux('send-keys', '-t', followSession, `cd ${scratch} && PS1='$ ' && clear && (${process.execPath} ${memviewBin} run -q -f -o ${capture} ${script} > /dev/null 2>&1 &) && ${process.execPath} ${memviewBin} live --follow ${capture}; echo "FOLLOW-EXIT=$?"`, 'Enter');
      const pane = () => tmux('capture-pane', '-t', followSession, '-p');
      const deadline = Date.now() + 20_000;
      let text = pane();
      while (!/the capture ended/.test(text) && Date.now() < deadline) {
        await sleep(200);
        text = pane();
      }
      expect(text).toMatch(/memview live — following .*followed\.bin/);
      expect(text).toMatch(/12\.0 MiB +\d+ +grow +.*grow\.cjs:3/);
      expect(text).toMatch(/the capture ended; the figures are final/);
      expect(text).not.toMatch(/program output →/);
      tmux('send-keys', '-t', followSession, 'q');
      const end = Date.now() + 10_000;
      while (!/FOLLOW-EXIT=0/.test(text) && Date.now() < end) {
        await sleep(150);
        text = pane();
      }
      expect(text).toMatch(/memview: capture .*followed\.bin\n/);
    } finally {
      tmux('kill-session', '-t', followSession);
    }
  }, 60_000);
});

describe.runIf(hasTmux)('memview live --attach', () => {
  it('watches a running node process and detaches on q, leaving it running', async () => {
    const script = join(scratch, 'running.cjs');
    writeFileSync(script, 'const kept = []; setInterval(function tick() { kept.push(Buffer.alloc(1 << 20)); if (kept.length > 8) kept.shift(); }, 20);');
    const server = createServer();
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const port = (server.address() as { port: number }).port;
    await new Promise((done) => server.close(done));
    const target = spawn(process.execPath, [`--inspect-port=${port}`, script], { env: childEnvironment(), stdio: 'ignore' });
    const attachSession = `${session}-attach`;
    try {
      await sleep(300);
      const capture = join(scratch, 'live-attached.bin');
      tmux('new-session', '-d', '-s', attachSession, '-x', '110', '-y', '24', 'env -u NODE_EXTRA_CA_CERTS -u NODE_OPTIONS bash --norc --noprofile');
      tmux('send-keys', '-t', attachSession, `cd ${scratch} && PS1='$ ' && clear && ${process.execPath} ${memviewBin} live -f -o ${capture} --attach ${target.pid} --port ${port}; echo "ATTACH-EXIT=$?"`, 'Enter');
      const pane = () => tmux('capture-pane', '-t', attachSession, '-p');
      const until = async (pattern: RegExp) => {
        const deadline = Date.now() + 20_000;
        let text = pane();
        while (!pattern.test(text) && Date.now() < deadline) { await sleep(150); text = pane(); }
        return text;
      };
      const watching = await until(/MiB +\d+ +tick +.*running\.cjs:1/);
      expect(watching).toMatch(/memview live — process \d+ \(attached; q detaches\)/);
      expect(watching).toMatch(/MiB +\d+ +tick +.*running\.cjs:1/);
      tmux('send-keys', '-t', attachSession, 'q');
      const after = await until(/ATTACH-EXIT=0/);
      expect(after).toMatch(/memview: detached from process \d+/);
      expect(target.exitCode).toBeNull();
      const model = await readCaptureFile(capture);
      expect(model.meta.truncated).toBe(false);
      expect(model.strings).toContain('tick');
    } finally {
      target.kill('SIGKILL');
      try { tmux('kill-session', '-t', attachSession); } catch { /* gone */ }
    }
  }, 60_000);
});

describe('the live screen', () => {
  it('lists what is live per function with native frames folded into their JavaScript caller', async () => {
    const model = await readCaptureFile(scratchFile('live-known.bin', knownCapture().toBytes()));
    const figures = { timeMs: 1500, rssBytes: 60 * MiB, chunks: 1, ended: false };
    const state = { sortBy: 'bytes' as const, threadIndex: -1, command: 'node app.js', logPath: '/tmp/app.log' };
    const lines = liveScreen(model, figures, state, 100, 30, plainPalette);
    const text = lines.join('\n');
    expect(text).toMatch(/tracked 3\.00 MiB +RSS 60\.0 MiB/);
    expect(text).toMatch(/threads: +all +thread 1 \(main\) 3\.00 MiB +thread 2 \(worker\) 2\.00 KiB/);
    expect(text).toMatch(/\n +3\.00 MiB +1 +load +\/app\/server\.js:10:3\n +2\.00 KiB +1 +work +\/app\/worker\.js:5:1\n +576 B +2 +parse/);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(100);
    const worker = liveScreen(model, figures, { ...state, threadIndex: 1, sortBy: 'count' }, 100, 30, plainPalette).join('\n');
    expect(worker).toMatch(/thread 2 \(worker\), sorted by count/);
    expect(worker).not.toMatch(/ load /);
    expect(worker).toMatch(/2\.00 KiB +1 +work/);
  });

  it('says it is waiting before the capture starts', () => {
    const lines = liveScreen(undefined, { timeMs: 0, rssBytes: 0, chunks: 0, ended: false },
      { sortBy: 'bytes', threadIndex: -1, command: 'node app.js', logPath: '/tmp/app.log' }, 80, 24, plainPalette);
    expect(lines.join('\n')).toMatch(/waiting for the program to start tracing/);
  });
});
