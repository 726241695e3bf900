// `memview symbolize FILE...`: names the native frames of captures whose process was killed before
// its collector could (SIGKILL, the OOM killer, a followed child killed with its parent), from the
// object files on this machine. `memview run` does it by itself for the program it started.
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { homedir } from 'node:os';
import { debuginfodFetcher } from '../../collector/lib/debuginfod.js';
import {
  CaptureStillWrittenError, loadSymbolsAddon, nameFramesOfKilledCapture, type KilledCaptureOutcome, type NamingOptions,
} from '../../collector/lib/killed-capture.js';
import { symbolsAddonPath } from '../../collector/lib/native-paths.js';
import { parseOptions } from '../parse-options.js';
import { explain } from '../terminal/open-capture.js';
import { exitStatusOfFailure, UsageError, UserFacingError } from '../usage-error.js';

export const summary = 'name the native frames of a killed process’s capture from this machine’s object files';

const usage = 'memview symbolize [--debug-dir DIR] FILE...';

const options = {
  'debug-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(argv, options, usage);
  if (values.help) {
    console.log(`usage: ${usage}\n\nA process killed by SIGKILL or the OOM killer leaves a capture without the names of the\nnative frames it reached last (the rest are named as the run goes). This names them from\nthe object files on this machine, where each still has the build id the capture recorded,\nand adds them to the capture. Captures that ended normally are left as they are.

  --debug-dir DIR   look for separate debug files in DIR/.build-id/ab/cdef....debug
                    (default /usr/lib/debug): they name stripped objects' functions, and name
                    them on their own where the object is gone or another build (a capture
                    made on another machine)

With servers in DEBUGINFOD_URLS (space-separated), the debug files of objects whose frames are
largely unnamed are fetched by build id into $XDG_CACHE_HOME/memview/debuginfod.`);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('missing the capture file', usage);
  if (values['debug-dir'] !== undefined) {
    const directory = resolve(values['debug-dir']);
    if (!existsSync(directory) || !statSync(directory).isDirectory()) throw new UserFacingError(`--debug-dir ${values['debug-dir']}: no such directory`);
    // MEMVIEW_DEBUG_DIR is a ':'-separated list.
    if (directory.includes(':')) throw new UserFacingError(`--debug-dir ${values['debug-dir']}: a directory whose path holds ':' cannot be used`);
    process.env.MEMVIEW_DEBUG_DIR = directory;  // read by the symbols addon (object_symbols.cpp)
  }
  const fetchDebugFile = debuginfodFromEnvironment();
  if (!existsSync(symbolsAddonPath)) {
    throw new UserFacingError(`the memview collector is not built (${symbolsAddonPath} is missing); run 'npm run build:collector'`);
  }
  // Every file gets its line; the status says whether any failed.
  let status = 0;
  for (const file of positionals) {
    try {
      const outcome = await nameFramesOfKilledCapture(file, { fetchDebugFile, verifyComplete: true }).catch((error) => {
        throw error instanceof CaptureStillWrittenError ? new UserFacingError(error.message) : explain(file, error);
      });
      console.error(`memview: ${file}: ${describeNaming(outcome)}`);
    } catch (error) {
      status = Math.max(status, exitStatusOfFailure(error));
    }
  }
  return status;
}

/**
 * With servers in DEBUGINFOD_URLS (space-separated, as gdb and perf read it), a fetcher of debug
 * files into memview's cache, which is searched before the other debug directories.
 */
function debuginfodFromEnvironment(): NonNullable<NamingOptions['fetchDebugFile']> | undefined {
  const servers = (process.env.DEBUGINFOD_URLS ?? '').split(/\s+/).filter(Boolean);
  if (servers.length === 0) return undefined;
  const cacheDirectory = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'memview', 'debuginfod');
  process.env.MEMVIEW_DEBUG_DIR = [cacheDirectory, process.env.MEMVIEW_DEBUG_DIR || '/usr/lib/debug'].join(':');
  return debuginfodFetcher({
    servers, cacheDirectory, buildIdOf: (path) => loadSymbolsAddon().buildIdOf(path), report: (message) => console.error(`memview: ${message}`),
  });
}

/**
 * Names the frames of a capture whose process `memview run` or `memview attach` saw die, and says
 * what it did, or why it could not, in words. Never throws: a failure here costs names, not the
 * capture.
 */
export async function nameFramesAfterTheFact(path: string, endReason?: string): Promise<{ outcome?: KilledCaptureOutcome; description: string }> {
  try {
    const outcome = await nameFramesOfKilledCapture(path, { endReason });
    return { outcome, description: describeNaming(outcome) };
  } catch (error) {
    return { description: `its native frames could not be named: ${(error as Error).message}` };
  }
}

/** What naming a capture's frames did, in one line. */
export function describeNaming(outcome: KilledCaptureOutcome): string {
  if (outcome.complete) return 'complete already (its collector named its frames), left as it is';
  if (outcome.nativePcs === 0 && outcome.cutBytes === 0) return 'no unnamed native frames, left as it is';
  const unnamed = outcome.nativePcs - outcome.named;
  const parts = [`named ${outcome.named} of ${outcome.nativePcs} native frames`];
  if (unnamed > 0 && outcome.objectsSkipped.length === 0) parts.push(`${unnamed} lie in no function their objects' symbol tables name`);
  for (const { path, reason } of outcome.objectsSkipped) {
    parts.push(`${path || '(unnamed object)'} ${reason === 'other-build' ? 'is another build now' : 'cannot be read'}, its frames stay unnamed`);
  }
  if (outcome.cutBytes > 0) parts.push(`dropped ${outcome.cutBytes} bytes of a chunk cut short`);
  return parts.join('; ');
}
