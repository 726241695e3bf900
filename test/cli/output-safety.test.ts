// No command's output replaces a capture: report, flamegraph and export refuse an -o that is the
// capture they read (by name, through a symlink, or a hard link) or any other capture, in one line
// with exit status 1, and leave the file as it was.
import { linkSync, readFileSync, symlinkSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { memview, scratchFile } from './cli-harness.js';
import { knownCapture } from './known-capture.js';

let captureBytes: Uint8Array;

beforeAll(() => {
  captureBytes = knownCapture().toBytes({ codec: 'lz4' });
});

const writers: [string, string[]][] = [
  ['report', ['report']],
  ['flamegraph', ['flamegraph']],
  ['export pprof', ['export', '-F', 'pprof']],
  ['export collapsed', ['export', '-F', 'collapsed']],
  ['export speedscope', ['export', '-F', 'speedscope']],
];

describe.each(writers)('%s -o', (name, command) => {
  const stem = name.replace(' ', '-');

  it('refuses to write over the capture it reads, and leaves it whole', async () => {
    const capture = scratchFile(`${stem}-self.bin`, captureBytes);
    const { status, stdout, stderr } = await memview(...command, '-o', capture, capture);
    expect(status).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/is the capture being read; choose another output file/);
    expect(readFileSync(capture)).toEqual(Buffer.from(captureBytes));
  });

  it('refuses the capture through a symlink or a hard link to it', async () => {
    const capture = scratchFile(`${stem}-linked.bin`, captureBytes);
    const symlink = scratchFile(`${stem}-symlink.bin`);
    const hardLink = scratchFile(`${stem}-hardlink.bin`);
    symlinkSync(capture, symlink);
    linkSync(capture, hardLink);
    for (const output of [symlink, hardLink]) {
      const { status, stderr } = await memview(...command, '-o', output, capture);
      expect(status).toBe(1);
      expect(stderr).toMatch(/is the capture being read/);
    }
    expect(readFileSync(capture)).toEqual(Buffer.from(captureBytes));
  });

  it('refuses to write over another capture', async () => {
    const capture = scratchFile(`${stem}-input.bin`, captureBytes);
    const otherCapture = scratchFile(`${stem}-other.bin`, captureBytes);
    const { status, stderr } = await memview(...command, '-o', otherCapture, capture);
    expect(status).toBe(1);
    expect(stderr).toMatch(/-other\.bin is a memview capture; choose another output file/);
    expect(readFileSync(otherCapture)).toEqual(Buffer.from(captureBytes));
  });
});

describe('export -o', () => {
  it('still replaces an existing file that is not a capture', async () => {
    const capture = scratchFile('export-plain-input.bin', captureBytes);
    const earlierOutput = scratchFile('earlier.folded', 'old text\n');
    const { status } = await memview('export', '-F', 'collapsed', '-o', earlierOutput, capture);
    expect(status).toBe(0);
    expect(readFileSync(earlierOutput, 'utf8')).toMatch(/^thread 1 \(main\);/);
  });

  it('a directory that does not exist is "cannot write FILE: reason", no node error code', async () => {
    const capture = scratchFile('export-nodir-input.bin', captureBytes);
    const { status, stderr } = await memview('export', '-F', 'collapsed', '-o', scratchFile('nodir/out.folded'), capture);
    expect(status).toBe(1);
    expect(stderr).toMatch(/^memview: cannot write .*nodir\/out\.folded: its directory does not exist$/);
  });
});
