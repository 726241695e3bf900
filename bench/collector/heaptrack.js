// Reading heaptrack's results: `heaptrack_print` for the figures it reports, and an exact replay of
// the data file (heaptrack_print rounds the peak to three significant digits).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';

export const heaptrackBinary = '/usr/bin/heaptrack';

export function heaptrackAvailable() {
  return existsSync(heaptrackBinary) && spawnSync('heaptrack_print', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** heaptrack -o <stem> writes <stem>.zst (or .gz, depending on how it was built). */
export function heaptrackOutput(stem) {
  for (const extension of ['.zst', '.gz', '']) if (existsSync(stem + extension)) return stem + extension;
  return undefined;
}

const units = { B: 1, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** The summary lines of `heaptrack_print -f file`. */
export function heaptrackPrint(file) {
  const result = spawnSync('heaptrack_print', ['-f', file, '-p', '0', '-a', '0', '-T', '0', '-l', '0'], {
    encoding: 'utf8', maxBuffer: 256 * 1024 * 1024,
  });
  const text = result.stdout ?? '';
  const calls = /calls to allocation functions: (\d+)/.exec(text);
  const peak = /peak heap memory consumption: ([\d.]+)([BKMGT])/.exec(text);
  const temporary = /temporary memory allocations: (\d+)/.exec(text);
  return {
    calls: calls ? Number(calls[1]) : undefined,
    peakBytes: peak ? Number(peak[1]) * units[peak[2]] : undefined,
    peakText: peak ? peak[1] + peak[2] : undefined,
    temporary: temporary ? Number(temporary[1]) : undefined,
  };
}

/**
 * Replays the data file: `a <size> <trace>` defines an allocation kind (indices in order), `+ <i>`
 * allocates one, `- <i>` frees one. Gives the exact peak and the counts of allocations and frees.
 */
export async function heaptrackReplay(file) {
  const decompressor = file.endsWith('.zst') ? ['zstd', ['-dc', file]] : file.endsWith('.gz') ? ['gzip', ['-dc', file]] : ['cat', [file]];
  const child = spawn(decompressor[0], decompressor[1], { stdio: ['ignore', 'pipe', 'ignore'] });
  const sizes = [];
  let current = 0;
  let peak = 0;
  let allocations = 0;
  let frees = 0;
  const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
  for await (const line of lines) {
    const tag = line.charCodeAt(0);
    if (tag === 43 /* + */) {
      current += sizes[parseInt(line.slice(2), 16)];
      allocations++;
      if (current > peak) peak = current;
    } else if (tag === 45 /* - */) {
      current -= sizes[parseInt(line.slice(2), 16)];
      frees++;
    } else if (tag === 97 /* a */) {
      const space = line.indexOf(' ', 2);
      sizes.push(parseInt(line.slice(2, space), 16));
    }
  }
  return { peakBytes: peak, allocations, frees, leakedBytes: current };
}
