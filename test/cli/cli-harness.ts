// Runs `memview` in-process (main() with console captured) or as a real process (bin/memview.cjs,
// the compiled CLI), and keeps scratch files in one temporary directory.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { vi } from 'vitest';
import { main } from '../../cli/main.js';
import { cleanEnvironment } from '../collector/trace-helpers.js';

export const repositoryRoot = resolve(import.meta.dirname, '../..');
export const memviewBin = join(repositoryRoot, 'bin', 'memview.cjs');
export const scratch = mkdtempSync(join(tmpdir(), 'memview-cli-'));

export function scratchFile(name: string, bytes?: Uint8Array | string): string {
  const path = join(scratch, name);
  if (bytes !== undefined) writeFileSync(path, bytes);
  return path;
}

export interface Outcome { status: number; stdout: string; stderr: string }

export async function memview(...argv: string[]): Promise<Outcome> {
  // Commands print with console.log or write to process.stdout (which reports write failures):
  // both land in one text, in order.
  const stdout: string[] = [];
  const stderr: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => { stdout.push(`${parts.join(' ')}\n`); });
  const write = vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array, callback?: (error?: Error | null) => void) => {
    stdout.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('latin1'));
    callback?.();
    return true;
  }) as typeof process.stdout.write);
  const error = vi.spyOn(console, 'error').mockImplementation((...parts: unknown[]) => { stderr.push(parts.join(' ')); });
  try {
    const status = await main(argv);
    return { status, stdout: stdout.join('').replace(/\n$/, ''), stderr: stderr.join('\n') };
  } finally {
    log.mockRestore();
    write.mockRestore();
    error.mockRestore();
  }
}

/** The environment for traced children: no NODE_EXTRA_CA_CERTS, NODE_OPTIONS or memview's own variables. */
export const childEnvironment = cleanEnvironment;

/** The compiled CLI as a separate process. */
export function memviewProcess(argv: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Outcome {
  const result = spawnSync(process.execPath, [memviewBin, ...argv], {
    cwd: options.cwd ?? scratch, env: childEnvironment(options.env), encoding: 'utf8', timeout: 60_000,
  });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Whether tmux is here to run a terminal program for real (live mode tests). */
export const hasTmux = (() => {
  try {
    execFileSync('tmux', ['-V']);
    return true;
  } catch {
    return false;
  }
})();
