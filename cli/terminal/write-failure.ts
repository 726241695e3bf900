// A failed write as one line a user can act on: "cannot write FILE: reason", without node's error
// code and syscall ("ENOENT: no such file or directory, open 'x'"), which repeat the file name and
// mean little to someone who only asked for a report.
import { UserFacingError } from '../usage-error.js';

const reasons: Record<string, string> = {
  ENOENT: 'its directory does not exist',
  ENOTDIR: 'a part of its path is not a directory',
  EISDIR: 'it is a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large',
  EIO: 'input/output error',
};

export function writeFailureReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== undefined && code in reasons) return reasons[code];
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
}

/** The error to throw when FILE (or 'standard output') could not be written. */
export function cannotWrite(target: string, error: unknown): UserFacingError {
  return new UserFacingError(`cannot write ${target}: ${writeFailureReason(error)}`);
}
