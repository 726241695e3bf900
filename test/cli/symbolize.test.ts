// `memview symbolize`: a capture whose process died together with `memview run` (the whole group
// killed, as the OOM killer or a CI timeout does) has no names for its native frames; symbolize
// names them from the objects on disk, refuses an object that is another build now, and repairs a
// chunk cut short by the death.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cleanEnvironment, cliPath, nodeAllocating, pathOf, readModel, repositoryRoot, scratchDirectory, strippedAddonWithDebugFile, testAddonPath,
} from '../collector/trace-helpers.js';
import { FrameKind } from '../../viewer/model/types.js';

const VALLOC_NAME = '(anonymous namespace)::Valloc(Napi::CallbackInfo const&)';
const VALLOC_BYTES = 5555555;

/** A capture whose process and launcher were killed with SIGKILL together; the program loads `addon`. */
async function captureKilledWithItsLauncher(addon: string): Promise<string> {
  const directory = scratchDirectory();
  const script = join(directory, 'program.cjs');
  // The valloc comes after the writer's first naming of native frames (25 ms in), alone: a batch
  // waits for 64 new pcs, or for 1 once it is 500 ms overdue (~1,025 ms in), so its frame is still
  // unnamed when the process is killed, after one of the writer's flushes (every 250 ms) put it in
  // the file.
  writeFileSync(script, `
    const addon = require(${JSON.stringify(addon)});
    setTimeout(() => addon.valloc(${VALLOC_BYTES}), 550);
    setInterval(() => Buffer.alloc(10000), 5);
    setTimeout(() => console.log('ready'), 900);
  `);
  const capturePath = join(directory, 'capture.bin');
  const launcher = spawn(cliPath, ['run', '-q', '-o', capturePath, script], {
    env: cleanEnvironment(), detached: true, stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((ready) => launcher.stdout.on('data', (data) => { if (String(data).includes('ready')) ready(); }));
  const exited = new Promise((done) => launcher.once('exit', done));
  process.kill(-launcher.pid!, 'SIGKILL');
  await exited;
  await new Promise((done) => setTimeout(done, 200));  // the program, killed with it, is gone too
  return capturePath;
}

/** Applies `patch` to the section header of .note.gnu.build-id in an ELF image; false when it has none. */
function patchBuildIdSection(elf: Buffer, patch: (elf: Buffer, header: number) => void): boolean {
  const sectionTable = Number(elf.readBigUInt64LE(0x28));
  const entrySize = elf.readUInt16LE(0x3a);
  const names = sectionTable + elf.readUInt16LE(0x3e) * entrySize;
  const namesOffset = Number(elf.readBigUInt64LE(names + 0x18));
  for (let i = 0; i < elf.readUInt16LE(0x3c); i++) {
    const header = sectionTable + i * entrySize;
    const nameAt = namesOffset + elf.readUInt32LE(header);
    if (elf.toString('latin1', nameAt, nameAt + 19) !== '.note.gnu.build-id\0') continue;
    patch(elf, header);
    return true;
  }
  return false;
}

function memview(...argv: string[]) {
  return spawnSync(cliPath, [...argv], { encoding: 'utf8', env: cleanEnvironment(), timeout: 60_000 });
}

const symbolize = (...files: string[]) => memview('symbolize', ...files);

describe('memview symbolize', () => {
  it('names the native frames of a capture whose launcher died with the program, once', async () => {
    const capturePath = await captureKilledWithItsLauncher(testAddonPath);
    const before = await readModel(capturePath);
    expect(before.meta.truncated).toBe(true);
    expect(pathOf(before, nodeAllocating(before, VALLOC_BYTES)).at(-1)).toMatch(/^memview_test_allocators\.node\+0x[0-9a-f]+$/);

    const hint = `'memview symbolize ${capturePath}' names them`;
    expect(memview('stats', capturePath).stderr).toContain(hint);

    const first = symbolize(capturePath);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/named [1-9]\d* of \d+ native frames/);
    const after = await readModel(capturePath);
    expect(after.meta.truncated).toBe(true);  // the events after the last flush are still lost
    expect(after.stats.totalAllocations).toBe(before.stats.totalAllocations);
    expect(pathOf(after, nodeAllocating(after, VALLOC_BYTES)).at(-1)).toBe(VALLOC_NAME);
    const stats = memview('stats', capturePath);
    expect(stats.stderr).toContain('has no trailer');
    expect(stats.stderr).not.toContain(hint);

    // Nothing more to name: the file stays as it is.
    const size = statSync(capturePath).size;
    const second = symbolize(capturePath);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/named 0 of \d+ native frames/);  // what has no name in the objects either
    expect(statSync(capturePath).size).toBe(size);
  });

  it('drops a chunk cut short at the end of the file before adding its own', async () => {
    const capturePath = await captureKilledWithItsLauncher(testAddonPath);
    const whole = statSync(capturePath).size;
    // The start of a chunk the process did not finish writing.
    const header = Buffer.alloc(24);
    header.write('MVCK', 0, 'latin1');
    header[4] = 1;
    header.writeUInt32LE(5000, 8);
    header.writeUInt32LE(5000, 12);
    appendFileSync(capturePath, Buffer.concat([header, Buffer.alloc(100, 7)]));
    const result = symbolize(capturePath);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toContain('dropped 124 bytes of a chunk cut short');
    const model = await readModel(capturePath);
    expect(pathOf(model, nodeAllocating(model, VALLOC_BYTES)).at(-1)).toBe(VALLOC_NAME);
    expect(statSync(capturePath).size).toBeGreaterThan(whole);
  });

  it('leaves unnamed the frames of an object that is another build now', async () => {
    const addonCopy = join(scratchDirectory(), 'allocators.node');
    copyFileSync(testAddonPath, addonCopy);
    const capturePath = await captureKilledWithItsLauncher(addonCopy);
    // Another ELF object with its own build id where the addon was.
    copyFileSync(join(repositoryRoot, 'collector', 'build', 'Release', 'memview_symbols.node'), addonCopy);
    const result = symbolize(capturePath);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toContain(`${addonCopy} is another build now, its frames stay unnamed`);
    const model = await readModel(capturePath);
    expect(pathOf(model, nodeAllocating(model, VALLOC_BYTES)).at(-1)).toMatch(/^allocators\.node\+0x[0-9a-f]+$/);
    // node itself is the same build: its frames are named (by the collector as the run went, or now).
    const namedNative = [...model.frames.kind.keys()].filter((frame) => model.frames.kind[frame] === FrameKind.Native &&
      !/\+0x[0-9a-f]+$|^\[unknown /.test(model.strings[model.frames.functionName[frame]]));
    expect(namedNative.length).toBeGreaterThan(0);
  });

  it('names frames from a debug directory alone when the object is another build now (a capture read elsewhere)', async () => {
    const { addon, debugDirectory } = strippedAddonWithDebugFile();
    const capturePath = await captureKilledWithItsLauncher(addon);
    copyFileSync(join(repositoryRoot, 'collector', 'build', 'Release', 'memview_symbols.node'), addon);
    const result = memview('symbolize', '--debug-dir', debugDirectory, capturePath);
    expect(result.status, result.stderr).toBe(0);
    const model = await readModel(capturePath);
    const node = nodeAllocating(model, VALLOC_BYTES);
    expect(pathOf(model, node).at(-1)).toBe(VALLOC_NAME);
    expect(model.strings[model.frames.file[model.tree.frame[node]]]).toMatch(/test-addon\/test_allocators\.cc$/);

    // The object gone altogether: the debug file names it on its own as well.
    const { addon: goneAddon, debugDirectory: goneDebug } = strippedAddonWithDebugFile();
    const goneCapture = await captureKilledWithItsLauncher(goneAddon);
    rmSync(goneAddon);
    expect(memview('symbolize', '--debug-dir', goneDebug, goneCapture).status).toBe(0);
    const goneModel = await readModel(goneCapture);
    expect(pathOf(goneModel, nodeAllocating(goneModel, VALLOC_BYTES)).at(-1)).toBe(VALLOC_NAME);

    const missing = memview('symbolize', '--debug-dir', join(debugDirectory, 'not-there'), capturePath);
    expect(missing.status).toBe(1);
    expect(missing.stderr.trim()).toBe(`memview: --debug-dir ${join(debugDirectory, 'not-there')}: no such directory`);
  });

  it('fetches a debug file it lacks from the debuginfod servers of DEBUGINFOD_URLS, keeping only the right file', async () => {
    const { addon, debugDirectory } = strippedAddonWithDebugFile();
    const buildId = /Build ID: ([0-9a-f]+)/.exec(spawnSync('readelf', ['-n', addon], { encoding: 'utf8' }).stdout)![1];
    const debugFile = join(debugDirectory, '.build-id', buildId.slice(0, 2), `${buildId.slice(2)}.debug`);
    const requests: string[] = [];
    // The first server answers everything with a page (a captive portal); the second has the file.
    const portal = createServer((request, response) => { requests.push(`portal ${request.url}`); response.end('<html>portal</html>'); });
    const archive = createServer((request, response) => {
      requests.push(`archive ${request.url}`);
      if (request.url === `/buildid/${buildId}/debuginfo`) response.end(readFileSync(debugFile));
      else response.writeHead(404).end();
    });
    const urlOf = async (server: ReturnType<typeof createServer>) => {
      await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
      return `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    };
    try {
      const servers = `${await urlOf(portal)} ${await urlOf(archive)}`;
      const capturePath = await captureKilledWithItsLauncher(addon);
      const cache = scratchDirectory();
      const cached = join(cache, 'memview', 'debuginfod', '.build-id', buildId.slice(0, 2), `${buildId.slice(2)}.debug`);
      mkdirSync(dirname(cached), { recursive: true });
      writeFileSync(cached, 'left by an earlier, broken fetch');
      // Not spawnSync: the servers answer from this process's event loop.
      const result = await new Promise<{ status: number | null; stderr: string }>((done) => {
        const child = spawn(cliPath, ['symbolize', capturePath], {
          env: cleanEnvironment({ DEBUGINFOD_URLS: servers, XDG_CACHE_HOME: cache }),
        });
        let stderr = '';
        child.stderr.on('data', (part) => { stderr += part; });
        child.once('exit', (status) => done({ status, stderr }));
      });
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr).toMatch(new RegExp(`memview: fetched the debug file of ${addon} \\(.* MiB\\) from http://127\\.0\\.0\\.1:\\d+/\n`));
      expect(requests.filter((request) => request.includes(buildId))).toEqual([`portal /buildid/${buildId}/debuginfo`, `archive /buildid/${buildId}/debuginfo`]);
      expect(readFileSync(cached).equals(readFileSync(debugFile))).toBe(true);
      const model = await readModel(capturePath);
      expect(pathOf(model, nodeAllocating(model, VALLOC_BYTES)).at(-1)).toBe(VALLOC_NAME);
    } finally {
      portal.close();
      archive.close();
    }
  });

  it('refuses a capture its process is still writing, which then ends complete', async () => {
    const directory = scratchDirectory();
    writeFileSync(join(directory, 'slow.cjs'), `
      const kept = [];
      const timer = setInterval(() => kept.push(Buffer.alloc(5000)), 5);
      setTimeout(() => clearInterval(timer), 2500);
    `);
    const capturePath = join(directory, 'slow.bin');
    const launcher = spawn(cliPath, ['run', '-q', '-o', capturePath, join(directory, 'slow.cjs')], { env: cleanEnvironment() });
    const exited = new Promise<number | null>((done) => launcher.once('exit', done));
    await new Promise((done) => setTimeout(done, 1200));
    const early = symbolize(capturePath);
    expect(early.status).toBe(1);
    expect(early.stderr).toMatch(/slow\.bin is still being written by process \d+; name its frames once that process has ended/);
    expect(await exited).toBe(0);
    const model = await readModel(capturePath);
    expect(model.meta.truncated).toBe(false);
    expect(model.stats.endReason).toBe('exit');
  });

  it('survives objects whose build-id note claims 4 GiB, or whose section runs past 2^64', () => {
    const addon = createRequire(import.meta.url)(join(repositoryRoot, 'collector', 'build', 'Release', 'memview_symbols.node'));
    const patches: [string, (elf: Buffer, header: number) => void][] = [
      ['descriptor size near 2^32', (elf, header) => elf.writeUInt32LE(0xfffffffd, Number(elf.readBigUInt64LE(header + 0x18)) + 4)],
      ['offset + size wrapping past 2^64', (elf, header) => {
        elf.writeBigUInt64LE(2n ** 64n - 2n ** 40n, header + 0x18);
        elf.writeBigUInt64LE(2n ** 40n + 16n, header + 0x20);
      }],
    ];
    for (const [what, patch] of patches) {
      const crafted = join(scratchDirectory(), 'true');
      const elf = readFileSync('/bin/true');
      expect(patchBuildIdSection(elf, patch), what).toBe(true);
      writeFileSync(crafted, elf);
      const answer = addon.nameObjectPcs(crafted, new Uint8Array([1, 2, 3, 4]), 0, [0x1001]);
      expect(answer.status, what).toBe('other-build');  // no build id read from the broken note
    }
  });

  it('leaves a complete capture alone, and says what is wrong with a file it cannot read', () => {
    const directory = scratchDirectory();
    const capturePath = join(directory, 'complete.bin');
    writeFileSync(join(directory, 'empty.cjs'), '');
    const traced = spawnSync(cliPath, ['run', '-q', '-o', capturePath, join(directory, 'empty.cjs')], { env: cleanEnvironment(), encoding: 'utf8' });
    expect(traced.status, traced.stderr).toBe(0);
    const bytes = readFileSync(capturePath);
    const complete = symbolize(capturePath);
    expect(complete.status, complete.stderr).toBe(0);
    expect(complete.stderr).toContain('complete already');
    expect(readFileSync(capturePath).equals(bytes)).toBe(true);

    const missing = symbolize(join(directory, 'nothing-here.bin'));
    expect(missing.status).toBe(1);
    expect(missing.stderr.trim()).toBe(`memview: ${join(directory, 'nothing-here.bin')}: no such file`);

    const notCapture = join(directory, 'text.bin');
    writeFileSync(notCapture, 'hello, not a capture at all');
    const wrong = symbolize(notCapture);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain('not a memview capture');
    expect(wrong.stderr).not.toMatch(/\n\s+at /);  // one line, no stack

    // A complete capture of another format version, or with a damaged chunk, is not "left as it
    // is" as if fine: it is refused, as every reader refuses it.
    const otherVersion = join(directory, 'version-7.bin');
    const patched = Buffer.from(bytes);
    patched.writeUInt16LE(7, 8);
    writeFileSync(otherVersion, patched);
    const future = symbolize(otherVersion);
    expect(future.status).toBe(1);
    expect(future.stderr.trim()).toMatch(/^memview: .*version-7\.bin: capture format version 7, this reader understands versions \d+ to \d+$/);
    const damaged = join(directory, 'damaged.bin');
    const flipped = Buffer.from(bytes);
    flipped[Math.floor(flipped.length / 2)] ^= 0xff;
    writeFileSync(damaged, flipped);
    const broken = symbolize(damaged);
    expect(broken.status).toBe(1);
    expect(broken.stderr).not.toContain('complete already');
    expect(broken.stderr.trim().split('\n')).toHaveLength(1);
  });
});
