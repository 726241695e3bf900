// Live mode across terminals: `memview run --live-remote --port P` serves the capture as it is
// written, `memview live --port P` receives and shows it.
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { receiveCapture, serveGrowingCapture } from '../../collector/lib/capture-relay.js';
import { childEnvironment, hasTmux, memviewBin, scratch } from './cli-harness.js';


let nextPort = 20000 + (process.pid % 20000);

describe('capture relay', () => {
  it('a receiver gets the whole file, byte for byte, while it grows and after it ends', async () => {
    const source = join(scratch, 'relay-source.bin');
    const copy = join(scratch, 'relay-copy.bin');
    let path: string | undefined;
    const port = nextPort++;
    const server = serveGrowingCapture(() => path, port);
    await server.listening;
    const receiver = await receiveCapture(port, copy);
    const pieces: Buffer[] = [];
    for (let i = 0; i < 20; i++) {
      const piece = Buffer.alloc(50_000 + i * 1000, i);
      pieces.push(piece);
      if (i === 0) {
        writeFileSync(source, piece);
        path = source; // the file is named only once the "program" has started
      } else {
        appendFileSync(source, piece);
      }
      await sleep(10);
    }
    await server.finish();
    await receiver.done;
    expect(Buffer.compare(readFileSync(copy), Buffer.concat(pieces))).toBe(0);
  });

  it('refuses a port that is taken', async () => {
    const port = nextPort++;
    const first = serveGrowingCapture(() => undefined, port);
    await first.listening;
    await expect(serveGrowingCapture(() => undefined, port).listening).rejects.toThrow(/EADDRINUSE/);
    await first.finish();
  });
});

describe.skipIf(!hasTmux)('memview live --port', () => {
  it('shows what a program started elsewhere with run --live-remote holds, until it ends', async () => {
    const script = join(scratch, 'remote-grow.cjs');
    writeFileSync(script, [
      'const kept = [];',
      'let n = 0;',
      'const timer = setInterval(function remoteGrow() { kept.push(Buffer.alloc(1 << 20, 1)); if (++n === 10) { clearInterval(timer); setTimeout(() => {}, 1500); } }, 100);',
    ].join('\n'));
    const port = nextPort++;
    const served = join(scratch, 'served.bin');
    const received = join(scratch, 'received.bin');
    const program = spawn(process.execPath, [memviewBin, 'run', '-f', '-o', served, '--live-remote', '--port', String(port), script], {
      env: childEnvironment(), stdio: ['ignore', 'ignore', 'pipe'],
    });
    const programExited = new Promise((exited) => program.once('exit', exited));
    let programErrors = '';
    program.stderr.on('data', (data) => { programErrors += data; });
    const session = `memview-live-remote-${process.pid}`;
    try {
      const deadline = Date.now() + 10_000;
      while (!/serving the capture live/.test(programErrors) && Date.now() < deadline) await sleep(50);
      expect(programErrors).toContain(`127.0.0.1:${port}`);
      execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '110', '-y', '24', 'env -u NODE_EXTRA_CA_CERTS -u NODE_OPTIONS bash --norc --noprofile']);
      execFileSync('tmux', ['send-keys', '-t', session, `cd ${scratch} && clear && ${process.execPath} ${memviewBin} live -f -o ${received} --port ${port}; echo "REMOTE-EXIT=$?"`, 'Enter']);
      const pane = () => execFileSync('tmux', ['capture-pane', '-t', session, '-p'], { encoding: 'utf8' });
      let text = pane();
      const end = Date.now() + 25_000;
      while (!/the capture ended/.test(text) && Date.now() < end) {
        await sleep(200);
        text = pane();
      }
      expect(text).toMatch(/127\.0\.0\.1:\d+ \(received into .*received\.bin\)/);
      expect(text).toMatch(/10\.0 MiB +\d+ +remoteGrow +.*remote-grow\.cjs:3/);
      execFileSync('tmux', ['send-keys', '-t', session, 'q']);
      const quit = Date.now() + 10_000;
      while (!/REMOTE-EXIT=0/.test(text) && Date.now() < quit) {
        await sleep(150);
        text = pane();
      }
      expect(text).toMatch(/REMOTE-EXIT=0/);
      await programExited;
      expect(Buffer.compare(readFileSync(received), readFileSync(served))).toBe(0);
    } finally {
      try { execFileSync('tmux', ['kill-session', '-t', session]); } catch { /* gone */ }
      program.kill();
    }
  }, 60_000);
});
