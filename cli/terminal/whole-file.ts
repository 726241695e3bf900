// Writes an output file (a report, an export) whole or not at all. Written straight into place, a
// write that failed half-way (the disk filled) left a truncated page or JSON under the name a
// browser or script will pick up, in place of the good one generated before. So the pieces go to a
// temporary file beside it, which replaces the target only once complete, and is removed if not.
// A target that exists and is not a regular file (/dev/stdout, a pipe) is written to directly.
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { cannotWrite } from './write-failure.js';

async function isSpecialFile(path: string): Promise<boolean> {
  try {
    return !(await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function writePieces(path: string, pieces: Iterable<Uint8Array | string>): Promise<void> {
  const handle = await open(path, 'w');
  try {
    for (const piece of pieces) await handle.writeFile(piece);
  } finally {
    await handle.close();
  }
}

/** Writes `pieces` to `path` as one file; throws a one-line UserFacingError when it cannot. */
export async function writeWholeFile(path: string, pieces: Iterable<Uint8Array | string>): Promise<void> {
  try {
    if (await isSpecialFile(path)) {
      await writePieces(path, pieces);
      return;
    }
    const partial = join(dirname(path), `.${basename(path)}.${process.pid}.partial`);
    try {
      await writePieces(partial, pieces);
      await rename(partial, path);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  } catch (error) {
    throw cannotWrite(path, error);
  }
}
