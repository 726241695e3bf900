// A result that cannot reach standard output is lost, so the command must say so: stats, summary,
// tree and export exit 1 with one line when stdout is a full disk (/dev/full), and stay silent with
// status 0 when the reader has gone (`| head`), which is the reader's choice.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { childEnvironment, memviewBin, scratch, scratchFile } from './cli-harness.js';
import { knownCapture } from './known-capture.js';

let capturePath: string;

beforeAll(() => {
  capturePath = scratchFile('stdout-known.bin', knownCapture().toBytes({ codec: 'lz4' }));
});

const commands = [['stats'], ['stats', '--json'], ['summary'], ['tree'], ['export', '-F', 'collapsed']];

describe.skipIf(!existsSync('/dev/full'))('standard output on a full disk', () => {
  it.each(commands.map((command) => [command.join(' '), command]))('%s: one line and exit status 1', (_, command) => {
    const full = openSync('/dev/full', 'w');
    try {
      const result = spawnSync(process.execPath, [memviewBin, ...command, capturePath], {
        cwd: scratch, env: childEnvironment(), stdio: ['ignore', full, 'pipe'], encoding: 'utf8', timeout: 60_000,
      });
      expect(result.status).toBe(1);
      expect(result.stderr).toBe('memview: cannot write standard output: no space left on device\n');
    } finally {
      closeSync(full);
    }
  });
});

describe('standard output whose reader has gone', () => {
  it.each(commands.map((command) => [command.join(' '), command]))('%s: silent, exit status 0', async (_, command) => {
    const child = spawn(process.execPath, [memviewBin, ...command, capturePath], { cwd: scratch, env: childEnvironment(), stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    const status = await new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    expect(stderr).toBe('');
    expect(status).toBe(0);
  });
});
