// Whether a program is a statically linked ELF executable: no dynamic loader (no PT_INTERP
// program header) reads LD_PRELOAD for it, so memview's library never loads and nothing is traced.
// `memview run` says so when such a program leaves no capture.
import { closeSync, openSync, readSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const PT_INTERP = 3;

/** The path `command` runs, as execvp finds it, or undefined. */
function resolveCommand(command: string, searchPath = process.env.PATH ?? ''): string | undefined {
  if (command.includes('/')) return command;
  for (const directory of searchPath.split(delimiter)) {
    if (!directory) continue;
    const candidate = join(directory, command);
    try {
      closeSync(openSync(candidate, 'r'));
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** True only for a 64-bit little-endian ELF executable without a PT_INTERP header. */
export function isStaticExecutable(command: string): boolean {
  const path = resolveCommand(command);
  if (!path) return false;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const header = Buffer.alloc(64);
    if (readSync(fd, header, 0, 64, 0) < 64) return false;
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2 || header[5] !== 1) return false;
    const type = header.readUInt16LE(16);
    if (type !== 2 && type !== 3) return false;  // ET_EXEC or ET_DYN
    const tableOffset = Number(header.readBigUInt64LE(0x20));
    const entrySize = header.readUInt16LE(0x36);
    const entryCount = header.readUInt16LE(0x38);
    if (entrySize < 4 || entryCount === 0 || entryCount > 4096) return false;
    const table = Buffer.alloc(entrySize * entryCount);
    if (readSync(fd, table, 0, table.length, tableOffset) < table.length) return false;
    for (let i = 0; i < entryCount; i++) {
      if (table.readUInt32LE(i * entrySize) === PT_INTERP) return false;
    }
    return true;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
