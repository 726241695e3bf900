// `memview run` as a command: the profiled program's output and exit status pass through, and
// every mistake gets one clear line and a non-zero exit, never a stack trace.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  childPidOf, cleanEnvironment, cliPath, javaScriptCallSites, readEvents, readModel, repositoryRoot, scratchDirectory, testAddonPath, traceScript,
  waitFor,
} from './trace-helpers.js';

function memview(args: string[], cwd?: string) {
  return spawnSync(cliPath, [...args], { encoding: 'utf8', env: cleanEnvironment(), cwd, timeout: 60_000 });
}

describe('memview run', () => {
  it('passes the program\'s arguments, output and exit status through', () => {
    const run = traceScript('console.log(process.argv.slice(2).join("|")); process.exitCode = 42;', { scriptArguments: ['one', 'two words'] });
    expect(run.stdout.trim()).toBe('one|two words');
    expect(run.status).toBe(42);
    expect(existsSync(run.capturePath)).toBe(true);
  });

  it('names the capture memview-<script>.<pid>.bin by default and prints where it went', () => {
    const directory = scratchDirectory();
    writeFileSync(join(directory, 'app.cjs'), 'console.log(process.pid)');
    const result = memview(['run', 'app.cjs'], directory);
    expect(result.status).toBe(0);
    const pid = result.stdout.trim();
    const expected = join(directory, `memview-app.${pid}.bin`);
    expect(existsSync(expected)).toBe(true);
    expect(result.stderr).toContain(expected);
  });

  it('refuses to overwrite a capture without -f, and overwrites with it', () => {
    const run = traceScript('');
    const again = memview(['run', '-o', run.capturePath, join(run.directory, 'program.cjs')]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/exists; use -f to overwrite/);
    expect(again.stderr).not.toMatch(/\n\s+at /);
    const forced = memview(['run', '-f', '-q', '-o', run.capturePath, join(run.directory, 'program.cjs')]);
    expect(forced.status).toBe(0);
  });

  it('runs any executable after --', async () => {
    const directory = scratchDirectory();
    const capture = join(directory, 'ls.bin');
    const result = memview(['run', '-q', '-o', capture, '--', '/bin/ls', directory]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('ls.bin');
    const model = await readModel(capture);
    expect(model.stats.totalAllocations).toBeGreaterThan(0);
    expect(model.meta.commandLine[0]).toBe('/bin/ls');
  });

  it('keeps a command line longer than a string record as the arguments that fit and a last "..."', async () => {
    const directory = scratchDirectory();
    const capture = join(directory, 'long.bin');
    const words = Array.from({ length: 600 }, (_, k) => `argument-${k}`);
    const result = memview(['run', '-q', '-o', capture, '--', '/bin/echo', 'quote"and\\slash', ...words]);
    expect(result.status).toBe(0);
    const model = await readModel(capture);
    const kept = model.meta.commandLine;
    expect(kept.slice(0, 3)).toEqual(['/bin/echo', 'quote"and\\slash', 'argument-0']);
    expect(kept[kept.length - 1]).toBe('...');
    expect(kept.length).toBeGreaterThan(200);
    expect(kept.slice(2, -1)).toEqual(words.slice(0, kept.length - 3));
  });

  it('finishes the capture of a program that ends with _exit(), as dash does, and keeps its status', async () => {
    const directory = scratchDirectory();
    const capture = join(directory, 'sh.bin');
    const result = memview(['run', '-q', '-o', capture, '--', '/bin/sh', '-c', 'echo hi; exit 3']);
    expect(result.stdout.trim()).toBe('hi');
    expect(result.status).toBe(3);
    expect(result.stderr).not.toMatch(/incomplete/);
    const model = await readModel(capture);
    expect(model.meta.truncated).toBe(false);
    expect(model.meta.endReason).toBe('exit');
    expect(model.stats.totalAllocations).toBeGreaterThan(0);
  });

  it('says that a statically linked program cannot be traced, and lets it run', () => {
    // Debian's ldconfig is static-pie: no dynamic loader reads LD_PRELOAD for it.
    const directory = scratchDirectory();
    const capture = join(directory, 'static.bin');
    const result = memview(['run', '-o', capture, '--', '/sbin/ldconfig', '--version']);
    expect(result.stdout).toMatch(/ldconfig/);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(`memview: no capture was written to ${capture}: /sbin/ldconfig is statically linked, so memview's library cannot be loaded into it (only dynamically linked programs can be traced)`);
  });

  it('suggests the closest flag for an unknown one and exits 2', () => {
    const result = memview(['run', '--natve', 'app.js']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("unknown option '--natve'");
    expect(result.stderr).toContain("did you mean '--native'");
    expect(result.stderr).toContain('usage:');
  });

  // `memview run node app.js`, as heaptrack, valgrind and perf take a program: through the native
  // launcher, and through the CLI (which --follow-fork goes to).
  for (const options of [[], ['--follow-fork']]) {
    it(`runs 'node [node options] script' as node itself, named after the script${options.length ? ' (the CLI\'s path)' : ''}`, async () => {
      const directory = scratchDirectory();
      writeFileSync(join(directory, 'app.cjs'), `
        const native = require(process.env.MEMVIEW_TEST_ADDON);
        function allocateTheBlock() { native.valloc(4747474); }
        allocateTheBlock();
        console.log(process.pid, process.execArgv.join(' '), process.argv.slice(2).join('|'));
        process.exitCode = 7;`);
      const result = spawnSync(cliPath, ['run', ...options, 'node', '--max-old-space-size=200', 'app.cjs', 'one', 'two'],
        { encoding: 'utf8', env: cleanEnvironment({ MEMVIEW_TEST_ADDON: testAddonPath }), cwd: directory, timeout: 60_000 });
      expect(result.status, result.stderr).toBe(7);
      const [pid, execArgv, args] = result.stdout.trim().split(' ');
      expect(execArgv).toBe('--max-old-space-size=200');
      expect(args).toBe('one|two');
      const capture = join(directory, `memview-app.${pid}.bin`);
      expect(result.stderr).toContain(capture);
      // The JavaScript frames are named: the run is traced as a script's would be.
      const model = await readModel(capture);
      expect(javaScriptCallSites(model, 4747474)[0]).toMatch(/^allocateTheBlock:3:/);
    });
  }

  it('says how to run a command that was given where a script goes', () => {
    const directory = scratchDirectory();
    const result = memview(['run', 'ls', directory], directory);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toMatch(/^memview: cannot find the script 'ls'; to trace the command \S*\/ls, put it after --: memview run \[options\] -- ls \.\.\.$/);
    expect(readdirSync(directory)).toEqual([]);
  });

  it('says so when the script does not exist', () => {
    const result = memview(['run', '/nonexistent/app.js']);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe("memview: cannot find the script '/nonexistent/app.js'");
  });

  it('runs a directory as node does (its index.js), named after the directory', () => {
    const directory = scratchDirectory();
    mkdirSync(join(directory, 'app'));
    writeFileSync(join(directory, 'app', 'index.js'), 'console.log("index ran")');
    const result = memview(['run', 'app'], directory);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe('index ran\n');
    expect(readdirSync(directory).some((name) => /^memview-app\.\d+\.bin$/.test(name))).toBe(true);
  });

  it('says so when the command after -- does not exist', () => {
    const result = memview(['run', '-o', join(scratchDirectory(), 'x.bin'), '--', '/nonexistent/binary']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/cannot start '\/nonexistent\/binary': command not found/);
    // A file that is not executable: said in words, not as node's "spawn ... EACCES".
    const text = join(scratchDirectory(), 'notes.sh');
    writeFileSync(text, 'echo never\n');
    const notExecutable = memview(['run', '-o', join(scratchDirectory(), 'y.bin'), '--', text]);
    expect(notExecutable.status).toBe(1);
    expect(notExecutable.stderr.trim()).toBe(`memview: cannot start '${text}': permission denied (not an executable file?)`);
  });

  it('says so when the directory of the capture does not exist', () => {
    const missing = join(scratchDirectory(), 'no-such-directory', 'x.bin');
    const result = memview(['run', '-o', missing, '--', '/bin/true']);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(`memview: cannot write the capture: directory ${join(missing, '..')} does not exist`);
  });

  it('refuses an output directory it cannot write', () => {
    const directory = scratchDirectory();
    const locked = join(directory, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    writeFileSync(join(directory, 'app.cjs'), '');
    const result = memview(['run', '-o', join(locked, 'deeper', 'x.bin'), join(directory, 'app.cjs')]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/cannot write the capture/);
  });

  it('refuses -f -o onto a directory, onto the script itself or an empty path before the program runs, in one line', () => {
    const directory = scratchDirectory();
    const script = join(directory, 'app.cjs');
    const source = `require('fs').writeFileSync(${JSON.stringify(join(directory, 'ran'))}, ''); process.exit(3)`;
    writeFileSync(script, source);
    mkdirSync(join(directory, 'captures'));
    symlinkSync(script, join(directory, 'link-to-app.cjs'));
    const cases: [string, RegExp][] = [
      [join(directory, 'captures'), /^memview: cannot write the capture to .*captures: it is a directory$/],
      [script, /^memview: .*app\.cjs is the program to run; choose another capture path$/],
      [join(directory, 'link-to-app.cjs'), /^memview: .*link-to-app\.cjs is the program to run; choose another capture path$/],
      ['', /^memview: the capture path \(-o\) is empty$/],
    ];
    for (const [output, message] of cases) {
      const result = memview(['run', '-f', '-o', output, script], directory);
      expect(result.status).toBe(1);
      expect(result.stderr.trim()).toMatch(message);
      expect(existsSync(join(directory, 'ran'))).toBe(false);
    }
    expect(readFileSync(script, 'utf8')).toBe(source);
    const withoutForce = memview(['run', '-o', '', script], directory);
    expect(withoutForce.stderr.trim()).toBe('memview: the capture path (-o) is empty');
  });

  it('suggests the closest command for an unknown one', () => {
    const result = memview(['rnu', 'app.js']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("did you mean 'run'");
  });
});

// `memview run` is a native launcher (collector/src/launcher/run_launcher.cpp) for the runs it can
// take whole, and bin/memview.cjs for the rest: both must behave as one command.
describe('memview run\'s native launcher', () => {
  it('starts the program itself, with no node of its own in between', async () => {
    const directory = scratchDirectory();
    const capture = join(directory, 'sleep.bin');
    const launcher = spawn(cliPath, ['run', '-q', '-o', capture, '--', 'sleep', '30'], { env: cleanEnvironment() });
    const exited = new Promise((done) => launcher.once('exit', (code) => done(code)));
    await waitFor(() => childPidOf(launcher.pid!) !== 0 && existsSync(capture));
    expect(readlinkSync(`/proc/${launcher.pid}/exe`)).toMatch(/\/memview-run$/);
    expect(readlinkSync(`/proc/${childPidOf(launcher.pid!)}/exe`)).toMatch(/\/sleep$/);
    launcher.kill('SIGTERM');  // forwarded to the program
    expect(await exited).toBe(143);
  });

  it('reads --output=FILE and --sample-interval=MS, and gives the program the same environment as the CLI', async () => {
    const directory = scratchDirectory();
    const script = join(directory, 'env.cjs');
    writeFileSync(script, 'for (const name of ["MEMVIEW_SAMPLE_MS", "MEMVIEW_NATIVE", "MEMVIEW_FOLLOW_FORK", "NODE_OPTIONS"]) console.log(name + "=" + process.env[name]);');
    const capture = join(directory, 'out.bin');
    const native = memview(['run', '-q', `--output=${capture}`, '--sample-interval=3', '--native', script]);
    expect(native.status).toBe(0);
    expect((await readModel(capture)).meta.nativeFrames).toBe(true);
    // -qf is a group of short flags, which only the CLI reads: the same run through bin/memview.cjs.
    const cli = memview(['run', '-qf', '-o', capture, '--sample-interval', '3', '--native', script]);
    expect(cli.status).toBe(0);
    expect(native.stdout).toBe(cli.stdout);
    expect(native.stdout).toContain('MEMVIEW_SAMPLE_MS=3\nMEMVIEW_NATIVE=1\nMEMVIEW_FOLLOW_FORK=0\n');
    expect(native.stdout).toMatch(/NODE_OPTIONS=--require \S+\/collector\/register\.cjs\n/);
  });

  it('reads -o=FILE as node\'s parseArgs does: the value is "=FILE"', () => {
    const directory = scratchDirectory();
    writeFileSync(join(directory, 'app.cjs'), '');
    const result = memview(['run', '-q', '-o=x.bin', 'app.cjs'], directory);
    expect(result.status).toBe(0);
    expect(existsSync(join(directory, '=x.bin'))).toBe(true);
    expect(existsSync(join(directory, 'x.bin'))).toBe(false);
  });

  it('gives the program every signal at its default, as node\'s spawn does, even one its caller ignored', () => {
    // A shell ignores SIGINT in its background jobs; a forwarded Ctrl-C must still stop the program.
    const run = spawnSync('sh', ['-c', 'trap "" INT; exec "$0" run -q -f -o "$1" -- grep SigIgn /proc/self/status', cliPath, join(scratchDirectory(), 'g.bin')], {
      encoding: 'utf8', env: cleanEnvironment(), timeout: 60_000,
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^SigIgn:\s*0+$/m);
  });

  it('returns the program\'s status when its own stderr is closed (memview run app.js 2>&1 | head)', async () => {
    const directory = scratchDirectory();
    writeFileSync(join(directory, 'app.cjs'), 'setTimeout(() => { process.exitCode = 3; }, 200);');
    const launcher = spawn(cliPath, ['run', '-f', '-o', join(directory, 'a.bin'), join(directory, 'app.cjs')], {
      env: cleanEnvironment(), stdio: ['ignore', 'ignore', 'pipe'],
    });
    launcher.stderr!.destroy();  // "memview: wrote ..." then goes to a pipe nobody reads
    const [code, signal] = await new Promise<[number | null, string | null]>((done) => launcher.once('exit', (c, s) => done([c, s])));
    expect(signal).toBe(null);
    expect(code).toBe(3);
  });

  it('leaves a run it cannot take to the CLI, with the arguments untouched', () => {
    const directory = scratchDirectory();
    writeFileSync(join(directory, 'args.cjs'), 'console.log(JSON.stringify(process.argv.slice(2)))');
    // --follow-fork is the CLI's; the program's own flags after the script stay the program's.
    const result = memview(['run', '-q', '--follow-fork', '-o', join(directory, 'a.bin'), join(directory, 'args.cjs'), '-o', '--native', 'x y'], directory);
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(['-o', '--native', 'x y']);
    expect(existsSync(join(directory, 'a.bin'))).toBe(true);
  });
});

/** Runs a script that uses the Tracker API directly (no launcher), with the test addon at hand. */
function runWithTestAddon(script: string, environment: Record<string, string> = {}) {
  return spawnSync(process.execPath, [script], {
    encoding: 'utf8',
    env: cleanEnvironment({ MEMVIEW_TEST_ADDON: testAddonPath, ...environment }),
    timeout: 60_000,
  });
}

/** Where a Tracker test writes its capture and its program, in a directory of its own. */
function trackerFiles(): { capture: string; script: string } {
  const directory = scratchDirectory();
  return { capture: join(directory, 'part.bin'), script: join(directory, 'program.mjs') };
}

/** Writes a program that imports the Tracker API and the test addon (as `native`), then `body`. */
function writeTrackerProgram(path: string, body: string): void {
  writeFileSync(path, `
      import { createRequire } from 'node:module';
      import { Tracker } from ${JSON.stringify(join(process.cwd(), 'dist', 'collector', 'lib', 'index.js'))};
      const native = createRequire(import.meta.url)(process.env.MEMVIEW_TEST_ADDON);${body}`);
}

describe('Tracker API', () => {
  it('traces only what happens between start() and stop()', async () => {
    const { capture, script } = trackerFiles();
    writeTrackerProgram(script, `
      const before = native.valloc(1212121);
      const tracker = new Tracker({ output: ${JSON.stringify(capture)} });
      await tracker.start();
      let second;
      try { await new Tracker({ output: ${JSON.stringify(capture + '2')} }).start(); } catch (error) { second = error.message; }
      function inside() { return native.valloc(3434343); }
      inside();
      native.free(before);
      // A worker has module state of its own: the capture it cannot start is the main thread's.
      const { Worker } = await import('node:worker_threads');
      const fromWorker = await new Promise((resolve) => {
        const source = 'import { Tracker } from ' + JSON.stringify(${JSON.stringify('file://' + join(process.cwd(), 'dist', 'collector', 'lib', 'index.js'))}) + ';' +
          'import { parentPort } from "node:worker_threads";' +
          'try { await new Tracker({ output: ' + JSON.stringify(${JSON.stringify(capture + '3')}) + ' }).start(); parentPort.postMessage("started"); } catch (error) { parentPort.postMessage(error.message); }';
        new Worker(new URL('data:text/javascript,' + encodeURIComponent(source))).once('message', resolve);
      });
      await tracker.stop();
      native.valloc(5656565);
      console.log(second);
      console.log(fromWorker);
    `);
    const result = runWithTestAddon(script);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/already active/);
    expect(result.stdout).toContain('a Tracker of another thread of this process is already writing a capture');
    const model = await readModel(capture);
    expect(model.stats.allocators.valloc).toEqual({ count: 1, bytes: 3434343 });
    // Started in a running process (no V8 flag possible), interpreted code is still named, with the
    // call's own line: inside() is on the 10th line of the script, valloc at column 41.
    expect(javaScriptCallSites(model, 3434343)[0]).toBe('inside:10:41');
    expect(model.meta.truncated).toBe(false);
    // The free of a block allocated before start() is ignored, not counted negative.
    expect(model.stats.leakedBytes).toBeGreaterThanOrEqual(3434343);
  });
});

describe('Tracker API in a process whose allocator is preloaded (as jemalloc is)', () => {
  it('hands every call to that allocator, blocks from before start() included', async () => {
    const { capture, script } = trackerFiles();
    // Loaded late, memview's library comes after the preloaded allocator: it must not hand the
    // program's calls to glibc instead (with jemalloc, glibc then freed jemalloc's blocks: SIGSEGV).
    writeTrackerProgram(script, `
      const before = native.malloc(70501);
      const tracker = new Tracker({ output: ${JSON.stringify(capture)} });
      await tracker.start();
      const callsAtStart = native.userAllocatorCalls();
      const inside = native.malloc(70502);
      native.free(before);
      native.free(inside);
      const callsAtEnd = native.userAllocatorCalls();
      await tracker.stop();
      console.log(JSON.stringify({ callsAtStart, callsAtEnd, inside: Number(inside) }));
    `);
    const countingAllocator = join(repositoryRoot, 'collector', 'build', 'Release', 'memview_counting_allocator.node');
    const result = runWithTestAddon(script, { LD_PRELOAD: countingAllocator });
    expect(result.status, result.stderr).toBe(0);
    const { callsAtStart, callsAtEnd, inside } = JSON.parse(result.stdout);
    expect(callsAtStart).toBeGreaterThan(10000);
    // The malloc and the two frees, at least (node allocates on its own meanwhile).
    expect(callsAtEnd - callsAtStart).toBeGreaterThanOrEqual(3);
    const model = await readModel(capture);
    expect(model.meta.truncated).toBe(false);
    expect(model.stats.allocators.malloc.count).toBeGreaterThanOrEqual(1);
    const { events } = await readEvents(capture);
    expect(events.some((event) => event.type === 'alloc' && event.address === inside && event.size === 70502)).toBe(true);
  });
});

describe('Tracker API in a process that closes every descriptor it did not open', () => {
  it('keeps its capture open, and complete', async () => {
    const { capture, script } = trackerFiles();
    writeTrackerProgram(script, `
      import { readdirSync, readlinkSync } from 'node:fs';
      const tracker = new Tracker({ output: ${JSON.stringify(capture)} });
      await tracker.start();
      const kept = native.valloc(2323232);
      // What a daemonizing native library does: close every descriptor it did not open through
      // libc, memview's capture among them.
      const captureFds = readdirSync('/proc/self/fd').filter((fd) => {
        try { return readlinkSync('/proc/self/fd/' + fd) === ${JSON.stringify(capture)}; } catch { return false; }
      });
      for (const fd of captureFds) native.closeDescriptor(Number(fd));
      for (let i = 0; i < 1000; i++) Buffer.alloc(100000);
      await tracker.stop();
      console.log(captureFds.length);
    `);
    const result = runWithTestAddon(script);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('1');
    const model = await readModel(capture);
    expect(model.meta.truncated).toBe(false);
    expect(model.stats.allocators.valloc).toEqual({ count: 1, bytes: 2323232 });
  });
});

describe('Tracker API and signals', () => {
  it('SIGTERM while tracing, unhandled by the program: the capture is finished first, the exit status is the signal\'s', async () => {
    const { capture, script } = trackerFiles();
    writeTrackerProgram(script, `
      await new Tracker({ output: ${JSON.stringify(capture)} }).start();
      native.valloc(2323232);
      process.kill(process.pid, 'SIGTERM');
      setTimeout(() => console.log('still running'), 5000);
    `);
    const result = runWithTestAddon(script);
    expect(result.signal).toBe('SIGTERM');
    expect(result.stdout).not.toContain('still running');
    const model = await readModel(capture);
    expect(model.meta.truncated).toBe(false);
    expect(model.meta.endReason).toBe('SIGTERM');
    expect(model.stats.allocators.valloc.bytes).toBe(2323232);
  });

  it('a program that handles SIGTERM itself keeps running and stops the Tracker when it wants', async () => {
    const { capture, script } = trackerFiles();
    writeTrackerProgram(script, `
      const tracker = new Tracker({ output: ${JSON.stringify(capture)} });
      await tracker.start();
      const alive = setInterval(() => {}, 1000);  // a signal listener alone does not keep node running
      process.on('SIGTERM', async () => {
        native.valloc(4545454);
        await tracker.stop();
        clearInterval(alive);
        console.log('stopped by the program');
      });
      process.kill(process.pid, 'SIGTERM');
    `);
    const result = runWithTestAddon(script);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('stopped by the program');
    const model = await readModel(capture);
    expect(model.meta.endReason).toBe('stopped');
    expect(model.stats.allocators.valloc.bytes).toBe(4545454);
  });
});

describe('Tracker API, twice in one process', () => {
  it('a second start() after stop() writes a second, complete capture of its own events only', async () => {
    const directory = scratchDirectory();
    const first = join(directory, 'first.bin');
    const second = join(directory, 'second.bin');
    const script = join(directory, 'program.mjs');
    writeTrackerProgram(script, `
      const one = new Tracker({ output: ${JSON.stringify(first)} });
      await one.start();
      for (let i = 0; i < 1000; i++) native.free(native.valloc(1111));
      await one.stop();
      for (let i = 0; i < 500; i++) native.free(native.valloc(2222));
      const two = new Tracker({ output: ${JSON.stringify(second)} });
      await two.start();
      for (let i = 0; i < 300; i++) native.free(native.valloc(3333));
      await two.stop();
    `);
    const result = runWithTestAddon(script);
    expect(result.status, result.stderr).toBe(0);
    const one = await readModel(first);
    const two = await readModel(second);
    expect(one.stats.allocators.valloc).toEqual({ count: 1000, bytes: 1111 * 1000 });
    expect(two.stats.allocators.valloc).toEqual({ count: 300, bytes: 3333 * 300 });
    expect(one.meta.truncated).toBe(false);
    expect(two.meta.truncated).toBe(false);
    // The main thread is named in each capture.
    for (const model of [one, two]) expect(model.stats.threads.some((thread) => thread.name === 'main')).toBe(true);
  });
});

describe('a capture path that cannot be written', () => {
  const mountPoint = join(scratchDirectory(), 'read-only');
  mkdirSync(mountPoint);
  // A file that exists but cannot be written, even by root: one on a file system remounted read-only.
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mountPoint]).status === 0 &&
    (writeFileSync(join(mountPoint, 'old.bin'), 'an earlier capture'), true) &&
    spawnSync('mount', ['-o', 'remount,ro', mountPoint]).status === 0;

  it.skipIf(!mounted)('-f onto an existing file that cannot be written: one message, and the program is not run', () => {
    try {
      const directory = scratchDirectory();
      writeFileSync(join(directory, 'app.cjs'), 'console.log("program ran")');
      const result = memview(['run', '-f', '-o', join(mountPoint, 'old.bin'), join(directory, 'app.cjs')]);
      expect(result.status).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr.trim().split('\n')).toEqual([`memview: cannot write the capture: ${join(mountPoint, 'old.bin')} is not writable`]);
      expect(readFileSync(join(mountPoint, 'old.bin'), 'utf8')).toBe('an earlier capture');
    } finally {
      spawnSync('umount', [mountPoint]);
    }
  });
});

describe('a disk that fills during capture', () => {
  const mountPoint = join(scratchDirectory(), 'small-disk');
  mkdirSync(mountPoint);
  // Room for the first chunk (at most 1 MiB) and not for the rest of the program's events: 600,000
  // Buffers made a capture of 0.97 MB on a busy machine in format 6, which fit; 2 million cannot.
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1200k', 'tmpfs', mountPoint]).status === 0;

  it.skipIf(!mounted)('stops tracing, keeps what was written, says so and exits non-zero; the program itself finishes', async () => {
    try {
      const directory = scratchDirectory();
      writeFileSync(join(directory, 'busy.cjs'), 'let b; for (let i = 0; i < 2000000; i++) b = Buffer.allocUnsafeSlow(100 + ((i * 7919) % 5000)); console.log("program finished")');
      const capture = join(mountPoint, 'capture.bin');
      const result = memview(['run', '-o', capture, join(directory, 'busy.cjs')]);
      expect(result.stdout).toContain('program finished');
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/No space left on device/);
      expect(result.stderr).toMatch(/incomplete/);
      const model = await readModel(capture);
      expect(model.meta.truncated).toBe(true);
      expect(model.stats.totalAllocations).toBeGreaterThan(1000);
    } finally {
      spawnSync('umount', [mountPoint]);
    }
  }, 60_000);
});
