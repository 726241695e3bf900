// A program with its own allocator (collector/test-addon/own_allocator.cc, built like Chromium's
// PartitionAlloc): its malloc serves memview's own calls too, and it maps memory while holding its
// lock. memview must neither hang it nor let it close the capture, and must still see its mappings.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanEnvironment, cliPath, readEvents, readModel, repositoryRoot, scratchDirectory } from './trace-helpers.js';

const program = join(repositoryRoot, 'collector', 'build', 'Release', 'memview_own_allocator');
const MiB = 1024 * 1024;

interface ProgramReport { one: number; two: number; three: number; child: number; childFour: number; childStatus: number }

function runUnderMemview(extra: string[], closing = 'each') {
  const directory = scratchDirectory();
  const capturePath = join(directory, 'own.bin');
  // A hang (the deadlock this guards against) ends in the timeout, and the test fails on status;
  // memview calling the program's allocator under its own lock aborts the program.
  const result = spawnSync(cliPath, ['run', '-q', '-o', capturePath, ...extra, '--', program, closing], {
    encoding: 'utf8', env: cleanEnvironment(), timeout: 60_000, killSignal: 'SIGKILL',
  });
  const report = result.status === 0 ? JSON.parse(result.stdout) as ProgramReport : undefined;
  return { result, report, capturePath, directory };
}

describe('a program with its own allocator', () => {
  it('runs to its end under memview, and its capture is complete with the mappings it made', async () => {
    const { result, report, capturePath } = runUnderMemview([]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(report!.childStatus).toBe(0);
    const model = await readModel(capturePath);
    expect(model.meta.truncated).toBe(false);
    expect(model.meta.endReason).toBe('exit');
    const { events } = await readEvents(capturePath);
    const at = (address: number) => events.filter((event) => event.address === address).map((event) => [event.type, event.size / MiB]);
    expect(at(report!.one)).toEqual([['map', 1], ['unmap', 1]]);
    expect(at(report!.two)[0]).toEqual(['map', 2]);
    expect(at(report!.two)).toContainEqual(['unmap', 2]);
    expect(at(report!.three)).toEqual([['map', 3], ['unmap', 3]]);
    // Its arenas, committed by mprotect from inside its malloc, are memory memview counts.
    expect(events.filter((event) => event.type === 'map').length).toBeGreaterThan(100);
  });

  it.each([
    ['one by one', 'each'],
    ['with close_range', 'range'],
    ['with closefrom', 'from'],
  ])('keeps the capture of a followed fork child that closes every descriptor it did not open (%s)', async (_, closing) => {
    const { result, report, capturePath, directory } = runUnderMemview(['--follow-fork'], closing);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(report!.childStatus).toBe(0);
    expect(readdirSync(directory).sort()).toEqual(['own.bin', `own.bin.${report!.child}`]);
    const childCapture = `${capturePath}.${report!.child}`;
    const child = await readModel(childCapture);
    expect(child.meta.truncated).toBe(false);
    expect(child.meta.endReason).toBe('exit');
    const { events } = await readEvents(childCapture);
    expect(events.filter((event) => event.address === report!.childFour).map((event) => [event.type, event.size / MiB])).toEqual([['map', 4]]);
  });
});

describe('a process that must stay single-threaded', () => {
  it('is left untraced when its arguments say it is a Chromium zygote, and leaves no capture', () => {
    const directory = scratchDirectory();
    const capturePath = join(directory, 'root.bin');
    // The inner shell counts its own threads: 1 untraced, 2 with memview's writer.
    const script = "sh -c 'echo $$; ls /proc/$$/task | wc -l' --type=zygote; sh -c 'ls /proc/$$/task | wc -l'";
    const result = spawnSync(cliPath, ['run', '-q', '--follow-fork', '-o', capturePath, '--', '/bin/sh', '-c', script], {
      encoding: 'utf8', env: cleanEnvironment(), timeout: 60_000, killSignal: 'SIGKILL',
    });
    expect(result.status, result.stderr).toBe(0);
    const [zygotePid, zygoteThreads, otherThreads] = result.stdout.trim().split(/\s+/);
    expect(zygoteThreads).toBe('1');
    expect(otherThreads).toBe('2');
    expect(readdirSync(directory)).not.toContain(`root.bin.${zygotePid}`);
  });
});
