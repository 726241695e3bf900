// Reading a capture for a command: the fast wasm engine (in a worker), falling back to the reference
// reader if the engine itself fails; a progress bar on a terminal; every way it can go wrong turned
// into one line naming the file (a UserFacingError, exit status 1).
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { CaptureError, readCaptureFile } from '../../collector/lib/reader/index.js';
import type { CaptureModel } from '../../viewer/model/types.js';
import { nativeFramesLeftUnnamed } from '../../viewer/model/unnamed-native-frames.js';
import { UserFacingError } from '../usage-error.js';
import { ProgressBar } from './progress.js';

export interface OpenOptions {
  temporaryThreshold?: number;
  /** Warn on stderr when the capture has no trailer (default true). */
  warnTruncated?: boolean;
}

const fileProblems: Record<string, string> = {
  ENOENT: 'no such file',
  EISDIR: 'is a directory, not a capture file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
};

export async function openCapture(file: string, options: OpenOptions = {}): Promise<CaptureModel> {
  try {
    const info = await stat(file);
    if (info.isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
  } catch (error) {
    throw explain(file, error);
  }
  const progress = new ProgressBar(`decoding ${basename(file)}`);
  const onProgress = (done: number, total: number) => progress.update(done, total);
  let model: CaptureModel;
  try {
    model = await decodeWithEngine(file, options.temporaryThreshold ?? 1, onProgress);
  } catch (engineError) {
    if (engineError instanceof CaptureError) {
      progress.finish();
      throw explain(file, engineError);
    }
    if (process.env.MEMVIEW_DEBUG === '1') console.error('memview: the wasm decoder failed, using the reference reader:', engineError);
    try {
      model = await readCaptureFile(file, { temporaryThreshold: options.temporaryThreshold ?? 1, onProgress });
    } catch (error) {
      progress.finish();
      throw explain(file, error);
    }
  }
  progress.finish();
  if (model.meta.truncated && options.warnTruncated !== false) {
    console.error(truncationWarning(file, model));
    if (!model.meta.trailerDamaged && nativeFramesLeftUnnamed(model)) {
      console.error(`memview: some of its native frames have no names (the process died before naming them); 'memview symbolize ${file}' names them from this machine's object files`);
    }
  }
  return model;
}

/**
 * What a capture without its trailer (or with a damaged one) holds: the chunks written whole. The
 * events after the last of them (up to a flush interval's, in a chunk cut short) are not in any figure.
 */
export function truncationWarning(file: string, model: CaptureModel): string {
  const chunks = model.meta.dataChunks;
  const chunkCount = `${chunks} chunk${chunks === 1 ? '' : 's'} of events`;
  if (model.meta.trailerDamaged) {
    // Every chunk before the trailer was whole: only the trailer's end time and index are lost.
    return `memview: warning: ${file}: its trailer is damaged (its checksum does not match); figures cover the ${chunkCount} before it, every one whole`;
  }
  const covered = chunks === undefined ? 'what was written' : `the ${chunkCount} written whole (what came after the last one is lost)`;
  return `memview: warning: ${file} has no trailer (the process was killed, or writing the capture failed); figures cover ${covered}`;
}

async function decodeWithEngine(file: string, temporaryThreshold: number, onProgress: (done: number, total: number) => void): Promise<CaptureModel> {
  const { decodeCaptureFile } = await import('../../wasm/host/node-engine.js');
  return decodeCaptureFile(file, { temporaryThreshold, onProgress });
}

/** One line naming the file for what went wrong reading it; an unexpected error goes on as it is. */
export function explain(file: string, error: unknown): Error {
  if (error instanceof UserFacingError) return error;
  if (error instanceof CaptureError) return new UserFacingError(`${file}: ${error.message}`);
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== undefined && code in fileProblems) return new UserFacingError(`${file}: ${fileProblems[code]}`);
  if (code !== undefined) return new UserFacingError(`${file}: ${(error as Error).message}`);
  return error instanceof Error ? error : new Error(String(error));
}
