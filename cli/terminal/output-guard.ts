// Where a command may write its output. A capture may be impossible to record again, so no
// command's output replaces one: not the capture it reads (also through a symlink or a hard link,
// hence device and inode rather than names), and not any other capture. The checks refuse with a
// UserFacingError (one line, exit status 1) before anything is written. The capture path of a run
// is checked before the program starts, for the same reason: afterwards the run is lost.
import { closeSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { CAPTURE_MAGIC } from '../../collector/lib/reader/format.js';
import { UserFacingError } from '../usage-error.js';

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** Whether both paths name one file (after symlinks): same device and inode. */
export function isSameFile(pathA: string, pathB: string): boolean {
  const a = statOrUndefined(pathA);
  const b = statOrUndefined(pathB);
  return a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino;
}

/** Whether the file begins with the capture magic (docs/capture-format.md, "Header"). */
export function startsWithCaptureMagic(path: string): boolean {
  const magic = Buffer.from(CAPTURE_MAGIC, 'latin1');
  let descriptor: number | undefined;
  try {
    descriptor = openSync(path, 'r');
    const head = Buffer.alloc(magic.length);
    const read = readSync(descriptor, head, 0, head.length, 0);
    return read === magic.length && head.equals(magic);
  } catch {
    return false;
  } finally {
    if (descriptor !== undefined) closeSync(descriptor);
  }
}

/**
 * Refuses an output path of report, flamegraph or export that would replace a capture: the input
 * capture itself, or any existing file that starts as a capture does.
 */
export function refuseToReplaceCapture(outputPath: string, inputCapturePath: string): void {
  if (isSameFile(outputPath, inputCapturePath)) {
    throw new UserFacingError(`${outputPath} is the capture being read; choose another output file`);
  }
  const existing = statOrUndefined(outputPath);
  if (existing?.isFile() && startsWithCaptureMagic(outputPath)) {
    throw new UserFacingError(`${outputPath} is a memview capture; choose another output file (remove it first to replace it)`);
  }
}

/**
 * Refuses the capture path `-o` of run or live before the program starts: empty, a directory,
 * or the program itself (-f would replace the script with its capture before node reads it).
 * `outputPath` is the resolved `outputArgument`.
 */
export function refuseCapturePathOfRun(outputArgument: string, outputPath: string, programPath: string): void {
  if (outputArgument === '') throw new UserFacingError('the capture path (-o) is empty');
  if (statOrUndefined(outputPath)?.isDirectory()) {
    throw new UserFacingError(`cannot write the capture to ${outputArgument}: it is a directory`);
  }
  if (isSameFile(outputPath, programPath)) {
    throw new UserFacingError(`${outputArgument} is the program to run; choose another capture path`);
  }
}
