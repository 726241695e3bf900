// Has a capture ended, and has the process writing it? Cheap checks for the CLI, which decides
// after a traced process is gone whether its capture needs its native frames named
// (killed-capture.ts).
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';

/**
 * True when the file ends with a trailer chunk, which the collector writes only on a clean stop.
 * The trailer grows ~16 bytes per chunk (four chunks a second at most): the tail read doubles from
 * 1 MiB until it holds the trailer's header, up to `searchBytes` (by default 64 MiB, a trailer of
 * days of tracing; a check repeated while a capture grows passes less).
 */
export function endsWithTrailer(path: string, searchBytes = 64 << 20): boolean {
  const size = statSync(path).size;
  const descriptor = openSync(path, 'r');
  try {
    for (let window = 1 << 20; ; window *= 2) {
      const tailLength = Math.min(size, window);
      const tail = Buffer.alloc(tailLength);
      readSync(descriptor, tail, 0, tailLength, size - tailLength);
      for (let at = tail.lastIndexOf('MVCK'); at >= 0; at = at > 0 ? tail.lastIndexOf('MVCK', at - 1) : -1) {
        if (tail[at + 4] === 2 && at + 24 <= tailLength && at + 24 + tail.readUInt32LE(at + 8) === tailLength) return true;
      }
      if (tailLength === size || window >= searchBytes) return false;
    }
  } finally {
    closeSync(descriptor);
  }
}

/**
 * True while process `pid` runs (one we may not signal counts). A zombie does not: a killed
 * program whose parent died too waits there until something reaps it, which in a container
 * whose first process reaps nothing is never.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat[stat.lastIndexOf(')') + 2];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;  // gone between the two looks
  }
}
