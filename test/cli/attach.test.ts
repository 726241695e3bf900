// `memview attach PID` / `memview detach PID` against real node processes: a target that allocates
// a Buffer of a known size on a timer and counts how many it made while memview's Tracker was in
// it; the capture holds exactly those allocations (±1 at the edges).
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listInspectorTargets } from '../../collector/lib/attach-inspector.js';
import { ByteStream } from '../../collector/lib/reader/byte-stream.js';
import { readCaptureHeader, readChunks } from '../../collector/lib/reader/chunk-reader.js';
import { ChunkKind } from '../../collector/lib/reader/format.js';
import { readCaptureFile } from '../../collector/lib/reader/index.js';
import { FrameKind } from '../../viewer/model/types.js';
import { HeapBlockNames } from '../../collector/lib/reader/heap-block-names.js';
import { decodeRecords, type RecordSink } from '../../collector/lib/reader/record-decoder.js';
import { childEnvironment, memviewBin, memviewProcess, scratch, type Outcome } from './cli-harness.js';

const ALLOCATION_SIZE = 1_000_003;
const EXIT_ALLOCATION_SIZE = 777_781;
const targetScript = join(scratch, 'attach-target.cjs');
writeFileSync(targetScript, `
let made = 0, whileAttached = 0;
const kept = [];
setInterval(function tick() {
  kept.push(Buffer.alloc(${ALLOCATION_SIZE}));
  if (kept.length > 5) kept.shift();
  made++;
  if (globalThis.__memviewTracker) whileAttached++;
}, 10);
process.on('SIGTERM', () => {
  // An exit listener added while attached: what it allocates is the program's too.
  process.on('exit', () => { if (globalThis.__memviewTracker) kept.push(Buffer.alloc(${EXIT_ALLOCATION_SIZE})); });
  console.log(JSON.stringify({ made, whileAttached }));
  process.exit(0);
});
console.log('ready', process.pid);
`);

const started: ChildProcess[] = [];
afterAll(() => { for (const child of started) if (child.exitCode === null) child.kill('SIGKILL'); });

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as { port: number }).port;
  await new Promise((done) => server.close(done));
  return port;
}

interface Target { child: ChildProcess; output: () => string }

async function startTarget(port: number): Promise<Target> {
  const child = spawn(process.execPath, [`--inspect-port=${port}`, targetScript], { env: childEnvironment(), stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let stdout = '';
  child.stdout!.setEncoding('utf8').on('data', (part) => { stdout += part; });
  child.stderr!.resume();
  await new Promise<void>((done, fail) => {
    const check = setInterval(() => { if (stdout.includes('ready')) { clearInterval(check); done(); } }, 20);
    child.once('exit', () => { clearInterval(check); fail(new Error('target exited early')); });
  });
  return { child, output: () => stdout };
}

async function stopTarget(target: Target): Promise<{ made: number; whileAttached: number }> {
  const exited = new Promise((done) => target.child.once('exit', done));
  target.child.kill('SIGTERM');
  await exited;
  return JSON.parse(target.output().trim().split('\n').pop()!);
}

/** Allocations of exactly `sizeBytes` in a capture, straight from its records. */
async function allocationsOfSize(path: string, sizeBytes: number): Promise<number> {
  let count = 0;
  const sink = new Proxy({}, {
    get: (_, name) => (name === 'alloc'
      ? (_thread: number, _kind: number, _address: number, size: number) => { if (size === sizeBytes) count++; }
      : () => {}),
  }) as RecordSink;
  const stream = new ByteStream(createReadStream(path));
  await readCaptureHeader(stream);
  const blocks = new HeapBlockNames();
  for await (const chunk of readChunks(stream)) if (chunk.kind !== ChunkKind.Trailer) decodeRecords(chunk.payload, sink, blocks);
  return count;
}

/** `memview attach` running while the test acts on its target; resolves when it exits. */
function attachInBackground(argv: string[]): { tracing: Promise<void>; exited: Promise<Outcome> } {
  const attach = spawn(process.execPath, [memviewBin, 'attach', ...argv], { env: childEnvironment(), stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(attach);
  let stdout = '';
  let stderr = '';
  attach.stdout!.setEncoding('utf8').on('data', (part) => { stdout += part; });
  const tracing = new Promise<void>((done) => attach.stderr!.setEncoding('utf8').on('data', (part) => {
    stderr += part;
    if (stderr.includes('tracing process')) done();
  }));
  const exited = new Promise<Outcome>((done) => attach.once('exit', (code) => done({ status: code ?? -1, stdout, stderr })));
  return { tracing, exited };
}

/** A new target, and `memview attach --duration 60` tracing it into `captureName` (in the background). */
async function attachForAMinute(captureName: string) {
  const port = await freePort();
  const target = await startTarget(port);
  const capture = join(scratch, captureName);
  const attach = attachInBackground(['-f', '-o', capture, '--port', String(port), '--duration', '60', String(target.child.pid)]);
  await attach.tracing;
  return { target, capture, attach };
}

describe('memview attach', () => {
  it('captures exactly the allocations the process made while attached for --duration', async () => {
    const port = await freePort();
    const target = await startTarget(port);
    await new Promise((done) => setTimeout(done, 200)); // some allocations before attaching
    const capture = join(scratch, 'attached.bin');
    const attach = memviewProcess(['attach', '-f', '-o', capture, '--port', String(port), '--duration', '1.5', String(target.child.pid)]);
    expect(attach.status, attach.stderr).toBe(0);
    expect(attach.stderr).toMatch(/tracing process \d+ into .*attached\.bin for 1\.5 s/);
    expect(attach.stderr).toMatch(/wrote .*attached\.bin/);
    await new Promise((done) => setTimeout(done, 200)); // and some after
    const counts = await stopTarget(target);
    expect(counts.whileAttached).toBeGreaterThan(50);
    expect(counts.made).toBeGreaterThan(counts.whileAttached);
    const captured = await allocationsOfSize(capture, ALLOCATION_SIZE);
    expect(Math.abs(captured - counts.whileAttached)).toBeLessThanOrEqual(1);
    const model = await readCaptureFile(capture);
    expect(model.meta.truncated).toBe(false);
    expect(model.strings).toContain('tick');
    // The inspector memview opened is closed again.
    expect(await listInspectorTargets(port)).toBeUndefined();
  }, 30_000);

  it('without --duration keeps tracing until memview detach', async () => {
    const port = await freePort();
    const target = await startTarget(port);
    const capture = join(scratch, 'detached.bin');
    const pid = String(target.child.pid);
    const attach = memviewProcess(['attach', '-f', '-o', capture, '--port', String(port), pid]);
    expect(attach.status, attach.stderr).toBe(0);
    expect(attach.stderr).toMatch(new RegExp(`stop with 'memview detach ${pid}'`));
    const again = memviewProcess(['attach', '-f', '-o', capture, '--port', String(port), pid]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already attached/);
    await new Promise((done) => setTimeout(done, 700));
    const detach = memviewProcess(['detach', '--port', String(port), pid]);
    expect(detach.status, detach.stderr).toBe(0);
    expect(detach.stderr).toMatch(/stopped tracing process \d+; the capture is .*detached\.bin/);
    await new Promise((done) => setTimeout(done, 300));
    expect(await listInspectorTargets(port)).toBeUndefined();
    const twice = memviewProcess(['detach', '--port', String(port), pid]);
    expect(twice.status).toBe(1);
    expect(twice.stderr).toMatch(/not being traced by memview attach/);
    const counts = await stopTarget(target);
    expect(Math.abs(await allocationsOfSize(capture, ALLOCATION_SIZE) - counts.whileAttached)).toBeLessThanOrEqual(1);
    expect(await allocationsOfSize(capture, EXIT_ALLOCATION_SIZE)).toBe(0);  // detached before
  }, 30_000);

  it('a process killed during --duration: attach says so at once, keeps the capture and names its native frames', async () => {
    const { target, capture, attach } = await attachForAMinute('killed.bin');
    await new Promise((done) => setTimeout(done, 600));  // past the writer's first flush
    target.child.kill('SIGKILL');
    const outcome = await attach.exited;  // long before the 60 s
    expect(outcome.status).toBe(1);
    expect(outcome.stderr).toMatch(/process \d+ was killed while traced; .*killed\.bin .* holds what it wrote up to its last flush; named [1-9]\d* of \d+ native frames/);
    const model = await readCaptureFile(capture);
    expect(model.meta.truncated).toBe(true);
    // Unnamed, a native frame reads `node+0x...`; named, node's C++ functions read `ns::function(...)`.
    const nativeNames = Array.from(model.frames.kind, (kind, frame) => (kind === FrameKind.Native ? model.strings[model.frames.functionName[frame]] : ''));
    expect(nativeNames.filter((name) => name.includes('::')).length).toBeGreaterThan(nativeNames.filter((name) => /\+0x[0-9a-f]+$/.test(name)).length);
  }, 30_000);

  it('a process that exits during --duration ends the attach at once, with a complete capture', async () => {
    const { target, capture, attach } = await attachForAMinute('exited-during.bin');
    await new Promise((done) => setTimeout(done, 300));
    // The target exits on SIGTERM; with memview's inspector session open, node waits for it to go.
    const counts = await stopTarget(target);
    const outcome = await attach.exited;
    expect(outcome.status, outcome.stderr).toBe(0);
    expect(outcome.stderr).toMatch(/process \d+ exited while traced; wrote .*exited-during\.bin/);
    expect((await readCaptureFile(capture)).meta.truncated).toBe(false);
    expect(Math.abs(await allocationsOfSize(capture, ALLOCATION_SIZE) - counts.whileAttached)).toBeLessThanOrEqual(1);
  }, 30_000);

  it('a program that exits while attached still ends its capture with a trailer', async () => {
    const port = await freePort();
    const target = await startTarget(port);
    const capture = join(scratch, 'exited.bin');
    const attach = memviewProcess(['attach', '-f', '-o', capture, '--port', String(port), String(target.child.pid)]);
    expect(attach.status, attach.stderr).toBe(0);
    await new Promise((done) => setTimeout(done, 500));
    const counts = await stopTarget(target); // exits through process.exit(0)
    const model = await readCaptureFile(capture);
    expect(model.meta.truncated).toBe(false);
    expect(Math.abs(await allocationsOfSize(capture, ALLOCATION_SIZE) - counts.whileAttached)).toBeLessThanOrEqual(1);
    expect(await allocationsOfSize(capture, EXIT_ALLOCATION_SIZE)).toBe(1);
  }, 30_000);
});

describe('memview attach refuses clearly', () => {
  it('no such process', async () => {
    const gone = spawn(process.execPath, ['-e', '0']);
    await new Promise((done) => gone.once('exit', done));
    const result = memviewProcess(['attach', String(gone.pid)]);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(`memview: cannot attach to process ${gone.pid}: no process ${gone.pid}`);
  });

  it('a process that is not node (SIGUSR1 would kill it)', async () => {
    const sleeper = spawn('sleep', ['30']);
    started.push(sleeper);
    await new Promise((done) => setTimeout(done, 100));
    const result = memviewProcess(['attach', String(sleeper.pid)]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/is not node/);
    expect(sleeper.exitCode).toBeNull();
  });

  it.runIf(process.getuid?.() === 0)('another user’s process', async () => {
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { uid: 65534, gid: 65534, env: childEnvironment() });
    started.push(other);
    await new Promise((done) => setTimeout(done, 200));
    const result = memviewProcess(['attach', String(other.pid)]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/belongs to another user \(uid 65534\)/);
  });

  it('an inspector that cannot open (its port is taken) is a timeout with a reason', async () => {
    const port = await freePort();
    const squatter: Server = createServer(() => {});
    await new Promise<void>((done) => squatter.listen(port, '127.0.0.1', done));
    try {
      const target = await startTarget(port);
      const result = memviewProcess(['attach', '--port', String(port), '--timeout', '1.5', '-o', join(scratch, 'never.bin'), String(target.child.pid)]);
      expect(result.status).toBe(1);
      expect(result.stderr.trim()).toMatch(/^memview: cannot attach to process \d+: process \d+ did not open its inspector on 127\.0\.0\.1:\d+ within 1\.5 s/);
      expect(existsSync(join(scratch, 'never.bin'))).toBe(false);
      expect(target.child.exitCode).toBeNull();
      await stopTarget(target);
    } finally {
      squatter.close();
    }
  }, 20_000);

  it('an inspector that opens on another port than --port is closed again, and the message names its port', async () => {
    const ownPort = await freePort();
    const askedPort = await freePort();
    const target = await startTarget(ownPort);
    const result = memviewProcess(['attach', '--port', String(askedPort), '--timeout', '1.5', '-o', join(scratch, 'elsewhere.bin'), String(target.child.pid)]);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(`memview: cannot attach to process ${target.child.pid}: process ${target.child.pid} opened its inspector on 127.0.0.1:${ownPort}, not ${askedPort}; memview closed it again (attach with --port ${ownPort})`);
    await new Promise((done) => setTimeout(done, 300));
    expect(await listInspectorTargets(ownPort)).toBeUndefined();
    expect(target.child.exitCode).toBeNull();
    await stopTarget(target);
  }, 20_000);

  it('a process memview run already traces, and the inspector is closed again', async () => {
    const port = await freePort();
    const run = spawn(process.execPath, [memviewBin, 'run', '-q', '-f', '-o', join(scratch, 'run-traced.bin'), targetScript], {
      env: { ...childEnvironment(), NODE_OPTIONS: `--inspect-port=${port}` }, stdio: ['ignore', 'pipe', 'ignore'],
    });
    started.push(run);
    let stdout = '';
    run.stdout!.setEncoding('utf8').on('data', (part) => { stdout += part; });
    const deadline = Date.now() + 15_000;
    while (!/ready (\d+)/.test(stdout) && Date.now() < deadline) await new Promise((done) => setTimeout(done, 50));
    const pid = /ready (\d+)/.exec(stdout)![1];
    try {
      const result = memviewProcess(['attach', '--port', String(port), '-o', join(scratch, 'second.bin'), pid]);
      expect(result.status).toBe(1);
      expect(result.stderr.trim()).toBe(`memview: cannot attach to process ${pid}: this process is already traced (it runs under \`memview run\`); a Tracker cannot start a second capture`);
      await new Promise((done) => setTimeout(done, 300));
      expect(await listInspectorTargets(port)).toBeUndefined();
    } finally {
      process.kill(Number(pid), 'SIGKILL');
    }
  }, 30_000);

  it('a bad pid is a usage mistake', async () => {
    const result = memviewProcess(['attach', 'abc']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/'abc' is not a process id/);
  });
});
