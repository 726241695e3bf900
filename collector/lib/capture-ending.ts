// Has a capture ended, and has the process writing it? Cheap checks for the CLI, which decides
// after a traced process is gone whether its capture needs its native frames named
// (killed-capture.ts).
import { closeSync, openSync, readSync, statSync } from 'node:fs';

/** True when the file ends with a trailer chunk, which the collector writes only on a clean stop. */
export function endsWithTrailer(path: string): boolean {
  const size = statSync(path).size;
  const tailLength = Math.min(size, 1 << 20);
  const tail = Buffer.alloc(tailLength);
  const descriptor = openSync(path, 'r');
  try {
    readSync(descriptor, tail, 0, tailLength, size - tailLength);
  } finally {
    closeSync(descriptor);
  }
  for (let at = tail.lastIndexOf('MVCK'); at >= 0; at = at > 0 ? tail.lastIndexOf('MVCK', at - 1) : -1) {
    if (tail[at + 4] === 2 && at + 24 + tail.readUInt32LE(at + 8) === tailLength) return true;
  }
  return false;
}

/** True while process `pid` exists (one we may not signal counts). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
