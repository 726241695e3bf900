// A program that crashes: the capture is finished before the signal takes its course (complete,
// with its trailer and the signal as the end reason), and the exit status is the signal's, as
// without memview.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FrameKind } from '../../viewer/model/types.js';
import { childPidOf, cleanEnvironment, cliPath, readModel, scratchDirectory, testAddonPath, traceScript, waitFor } from './trace-helpers.js';

describe('a program that dies of a signal', () => {
  it('process.abort(): the capture holds everything up to the abort and ends on SIGABRT', async () => {
    const directory = scratchDirectory();
    writeFileSync(join(directory, 'abort.cjs'), `
      const native = require(process.env.MEMVIEW_TEST_ADDON);
      native.valloc(4040404);
      process.abort();
    `);
    const capture = join(directory, 'abort.bin');
    const run = spawnSync(cliPath, ['run', '-o', capture, join(directory, 'abort.cjs')], {
      encoding: 'utf8', env: cleanEnvironment({ MEMVIEW_TEST_ADDON: testAddonPath }), timeout: 60_000,
    });
    expect(run.status).toBe(134);
    expect(run.stderr).toMatch(/ended on SIGABRT/);
    const model = await readModel(capture);
    expect(model.meta.truncated).toBe(false);
    expect(model.meta.endReason).toBe('SIGABRT');
    expect(model.stats.endReason).toBe('SIGABRT');
    expect(model.stats.allocators.valloc.bytes).toBe(4040404);
    // The same through the wasm engine, as scripts see it.
    const stats = spawnSync(cliPath, ['stats', '--json', capture], { encoding: 'utf8', env: cleanEnvironment() });
    expect(stats.status, stats.stderr).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ truncated: false, endReason: 'SIGABRT' });
  });

  it('JavaScript heap out of memory: V8 aborts, and the capture still has the growth that led to it', async () => {
    const directory = scratchDirectory();
    writeFileSync(join(directory, 'grow.cjs'), `
      const native = require(process.env.MEMVIEW_TEST_ADDON);
      native.valloc(5050505);
      const kept = [];
      for (let i = 0; ; i++) kept.push({ i, text: 'x'.repeat(64) + i, buffer: Buffer.alloc(256) });
    `);
    const capture = join(directory, 'grow.bin');
    const run = spawnSync(cliPath, [
      'run', '-o', capture, '--', process.execPath, '--max-old-space-size=16', join(directory, 'grow.cjs'),
    ], { encoding: 'utf8', env: cleanEnvironment({ MEMVIEW_TEST_ADDON: testAddonPath }), timeout: 60_000 });
    expect(run.status).toBe(134);
    expect(run.stderr).toMatch(/heap out of memory/);
    expect(run.stderr).toMatch(/ended on SIGABRT/);
    const model = await readModel(capture);
    expect(model.meta.truncated).toBe(false);
    expect(model.meta.endReason).toBe('SIGABRT');
    expect(model.stats.allocators.valloc.bytes).toBe(5050505);
    // Each Buffer.alloc(256) is 256 bytes of the program's own: thousands of them were made
    // before the heap ran out, and the last ones are in the capture too.
    expect(model.stats.allocators.calloc.count + model.stats.allocators.malloc.count).toBeGreaterThan(1000);
  });

  it('a segfault in a native addon: memview\'s segfault handler goes in front of node\'s', async () => {
    const run = traceScript(`
      const native = require(process.env.MEMVIEW_TEST_ADDON);
      native.valloc(7070707);
      native.segfault();
    `);
    expect(run.status).toBe(139);
    expect(run.stderr).toMatch(/ended on SIGSEGV/);
    const model = await readModel(run.capturePath);
    expect(model.meta.truncated).toBe(false);
    expect(model.meta.endReason).toBe('SIGSEGV');
    expect(model.stats.allocators.valloc.bytes).toBe(7070707);
  });

  it('WebAssembly out-of-bounds accesses, which V8 recovers from through the same handler, still throw and are caught', async () => {
    // (module (memory 1) (func (export "load") (param i32) (result i32) local.get 0 i32.load))
    const run = traceScript(`
      const bytes = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 6, 1, 0x60, 1, 0x7f, 1, 0x7f, 3, 2, 1, 0, 5, 3, 1, 0, 1,
        7, 8, 1, 4, 0x6c, 0x6f, 0x61, 0x64, 0, 0, 0x0a, 9, 1, 7, 0, 0x20, 0, 0x28, 2, 0, 0x0b]);
      const { load } = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
      let caught = 0;
      for (let i = 0; i < 5; i++) {
        try { load(0x10000000); } catch (error) { if (error instanceof WebAssembly.RuntimeError) caught++; }
      }
      console.log('caught', caught, 'then read', load(16));
    `);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('caught 5 then read 0');
    const model = await readModel(run.capturePath);
    expect(model.meta.truncated).toBe(false);
    expect(model.meta.endReason).toBe('exit');
  });

  it('leaves SIGINT, SIGTERM, SIGHUP and SIGQUIT to the program (which may look at them), and catches the crash signals', () => {
    // Python, for one, sets up KeyboardInterrupt only where SIGINT is still the default action.
    const directory = scratchDirectory();
    const run = spawnSync(cliPath, ['run', '-q', '-o', join(directory, 'cat.bin'), '--', 'cat', '/proc/self/status'], {
      encoding: 'utf8', env: cleanEnvironment(), timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const caught = BigInt(`0x${/^SigCgt:\s*([0-9a-f]+)/m.exec(run.stdout)![1]}`);
    const isCaught = (signal: number) => ((caught >> BigInt(signal - 1)) & 1n) === 1n;
    for (const signal of [1, 2, 3, 15]) expect(isCaught(signal), `signal ${signal}`).toBe(false);  // HUP INT QUIT TERM
    for (const signal of [4, 5, 6, 7, 8, 11]) expect(isCaught(signal), `signal ${signal}`).toBe(true);  // ILL TRAP ABRT BUS FPE SEGV
  });

  it('SIGSEGV (not node): the capture is complete and the exit status is the crash\'s', async () => {
    const directory = scratchDirectory();
    const launcher = spawn(cliPath, ['run', '--', 'sleep', '30'], { cwd: directory, env: cleanEnvironment() });
    let stderr = '';
    launcher.stderr.on('data', (data) => { stderr += data; });
    // The default capture name carries the traced process's pid: memview-sleep.<pid>.bin.
    let captureName = '';
    await waitFor(() => (captureName = readdirSync(directory).find((name) => /^memview-sleep\.\d+\.bin$/.test(name)) ?? '') !== '');
    await new Promise((settle) => setTimeout(settle, 300));
    process.kill(Number(captureName.split('.')[1]), 'SIGSEGV');
    const status = await new Promise((done) => launcher.once('exit', (code) => done(code)));
    expect(status).toBe(139);
    expect(stderr).toMatch(/ended on SIGSEGV/);
    const model = await readModel(join(directory, captureName));
    expect(model.meta.truncated).toBe(false);
    expect(model.meta.endReason).toBe('SIGSEGV');
  });

  it('SIGTERM (not node, not caught): memview run names the native frames afterwards and records the signal', async () => {
    const directory = scratchDirectory();
    const capture = join(directory, 'sleep.bin');
    const launcher = spawn(cliPath, ['run', '-o', capture, '--', 'sleep', '30'], { env: cleanEnvironment() });
    let stderr = '';
    launcher.stderr.on('data', (data) => { stderr += data; });
    let pid = 0;
    await waitFor(() => (pid = childPidOf(launcher.pid!)) !== 0 && existsSync(capture));
    await new Promise((settle) => setTimeout(settle, 300));
    process.kill(pid, 'SIGTERM');
    const status = await new Promise((done) => launcher.once('exit', (code) => done(code)));
    expect(status).toBe(143);
    expect(stderr).toMatch(/named [1-9]\d* of \d+ native frames/);
    const model = await readModel(capture);
    expect(model.meta.truncated).toBe(true);
    expect(model.meta.endReason).toBe('SIGTERM');
    // Named from libc's symbol table (and, where libc6-dbg is installed, its debug file, whose
    // lines then replace the library's path with a source file).
    const nativeNames = Array.from(model.frames.functionName, (name, frame) =>
      (model.frames.kind[frame] === FrameKind.Native ? model.strings[name] : ''));
    expect(nativeNames.some((name) => name !== '' && !name.includes('+0x') && !name.startsWith('[unknown'))).toBe(true);
  });
});

describe('memview\'s own threads', () => {
  it('take none of the signals sent to the process (a kill reaches the program\'s threads, whose handler waits for the writer)', async () => {
    const directory = scratchDirectory();
    const capture = join(directory, 'sleep.bin');
    const launcher = spawn(cliPath, ['run', '-o', capture, '--', 'sleep', '30'], { env: cleanEnvironment() });
    try {
      let writerStatus = '';
      await waitFor(() => {
        const pid = childPidOf(launcher.pid!);
        if (pid === 0) return false;
        try {
          for (const task of readdirSync(`/proc/${pid}/task`)) {
            if (readFileSync(`/proc/${pid}/task/${task}/comm`, 'utf8').trim() === 'memview-writer') {
              writerStatus = readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8');
            }
          }
        } catch {
          return false;  // a thread came or went while looking
        }
        return writerStatus !== '';
      });
      const blocked = BigInt(`0x${/^SigBlk:\s*([0-9a-f]+)/m.exec(writerStatus)![1]}`);
      for (const signal of [1, 2, 3, 15]) expect((blocked >> BigInt(signal - 1)) & 1n).toBe(1n);  // HUP INT QUIT TERM
    } finally {
      launcher.kill('SIGTERM');
      await new Promise((done) => launcher.once('exit', done));
    }
  });
});
