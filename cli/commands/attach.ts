// `memview attach PID`: profile a running node process without restarting it. Its inspector is
// opened (SIGUSR1), and code evaluated in it loads memview's Tracker and starts a capture; with
// --duration the capture is stopped after that long, otherwise `memview detach PID` stops it.
// Memory allocated before attaching is unknown to the capture; frees of it are ignored by readers.
import { existsSync, statSync } from 'node:fs';
import { endsWithTrailer, isAlive } from '../../collector/lib/capture-ending.js';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  AttachError, checkTarget, closeInspectorExpression, openInspector, startTrackerExpression, stopTracking, type InspectorSession,
} from '../../collector/lib/attach-inspector.js';
import { assertCollectorBuilt } from '../../collector/lib/native-paths.js';
import { formatBytes } from '../../viewer/model/frame-text.js';
import { parseOptions } from '../parse-options.js';
import { UsageError, UserFacingError } from '../usage-error.js';

export const summary = 'profile a running node process: memview attach PID [--duration S], memview detach PID';

const usage = 'memview attach [-o capture.bin] [-f] [--duration S] [--native] [--port P] PID';
/** How often a timed attach checks that its process still exists. */
const TARGET_WATCH_MS = 200;

const help = `usage: ${usage}

Starts tracing a running node process (your own) without restarting it: memview opens its
inspector (as SIGUSR1 does), loads the collector into it and starts a capture. Allocations made
before attaching are unknown. Without --duration tracing goes on until 'memview detach PID'
(the inspector stays open on 127.0.0.1 until then).

Options:
  -o, --output FILE     capture path (default memview-attach.<pid>.bin; refuses to overwrite unless -f)
  -f, --force           overwrite an existing capture
  -d, --duration S      stop after S seconds (Ctrl-C stops early)
      --native          keep the C/C++ frames between JavaScript frames
      --port P          the target's inspector port (default 9229, or its --inspect-port)
      --timeout S       how long to wait for the inspector to open (default 5)
  -h, --help            show this help`;

const options = {
  output: { type: 'string', short: 'o' },
  force: { type: 'boolean', short: 'f' },
  duration: { type: 'string', short: 'd' },
  native: { type: 'boolean' },
  port: { type: 'string' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(argv, options, usage);
  if (values.help) {
    console.log(help);
    return 0;
  }
  const pid = processId(positionals, usage);
  const port = inspectorPort(values.port, usage);
  const timeoutMs = seconds(values.timeout ?? '5', '--timeout', usage) * 1000;
  const durationMs = values.duration === undefined ? undefined : seconds(values.duration, '--duration', usage) * 1000;
  const output = resolve(values.output ?? `memview-attach.${pid}.bin`);
  if (existsSync(output) && !values.force) throw new UserFacingError(`${values.output ?? output} exists; use -f to overwrite it`);
  try {
    const session = await startTrackerIn(pid, { output, port, timeoutMs, native: values.native === true, force: values.force === true });
    if (durationMs === undefined) {
      session.close();
      console.error(`memview: tracing process ${pid} into ${output}; stop with 'memview detach ${pid}'`);
      return 0;
    }
    console.error(`memview: tracing process ${pid} into ${output} for ${durationMs / 1000} s (Ctrl-C stops early)`);
    // A process that exits while traced finishes its capture (its Tracker stops at exit), then
    // waits for the inspector session to go: the trailer says so before the process is gone.
    const targetEnded = await waitOrInterrupt(durationMs, () => !isAlive(pid) || (existsSync(output) && endsWithTrailer(output, 1 << 20)));
    if (targetEnded) {
      session.close();
      return await reportEndedTarget(pid, output);
    }
    try {
      await stopTracking(session);
    } catch (error) {
      if (!isAlive(pid)) return await reportEndedTarget(pid, output);  // it ended while being stopped
      throw error;
    }
    console.error(`memview: wrote ${output} (${formatBytes(existsSync(output) ? statSync(output).size : 0)}); see it with 'memview summary ${output}'`);
    return 0;
  } catch (error) {
    if (error instanceof AttachError) throw new UserFacingError(`cannot attach to process ${pid}: ${error.message}`);
    throw error;
  }
}

export interface AttachOptions {
  output: string;
  port: number;
  timeoutMs: number;
  native: boolean;
  force: boolean;
}

/**
 * Starts a Tracker in process `pid` writing `options.output`; returns the open inspector session
 * (stopTracking(session) ends the capture). Throws AttachError or UserFacingError.
 */
export async function startTrackerIn(pid: number, options: AttachOptions): Promise<InspectorSession> {
  checkTarget(pid);
  try {
    assertCollectorBuilt();
  } catch (error) {
    throw new UserFacingError((error as Error).message);
  }
  const trackerPath = compiledTrackerPath();
  const { session, openedByUs } = await openInspector(pid, options.port, options.timeoutMs);
  try {
    await session.evaluate(startTrackerExpression({
      trackerPath, trackerUrl: pathToFileURL(trackerPath).href, output: options.output, native: options.native, force: options.force, openedInspector: openedByUs,
    }));
  } catch (error) {
    // Leave the process as it was: close the inspector again if memview opened it.
    if (openedByUs) await session.evaluate(closeInspectorExpression).catch(() => undefined);
    session.close();
    throw error;
  }
  return session;
}

export function processId(positionals: string[], usageLine: string): number {
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing the process id' : `expected one process id, got ${positionals.length}`, usageLine);
  const pid = Number(positionals[0]);
  if (!/^\d+$/.test(positionals[0]) || !Number.isSafeInteger(pid) || pid < 1) throw new UsageError(`'${positionals[0]}' is not a process id`, usageLine);
  if (pid === process.pid) throw new UsageError('memview cannot attach to itself', usageLine);
  return pid;
}

export function inspectorPort(text: string | undefined, usageLine: string): number {
  if (text === undefined) return 9229;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) throw new UsageError(`--port wants a port number, not '${text}'`, usageLine);
  return port;
}

function seconds(text: string, flag: string, usageLine: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`${flag} wants a number of seconds, not '${text}'`, usageLine);
  return value;
}

/** dist/collector/lib/tracker.js, which the target imports. */
function compiledTrackerPath(): string {
  const candidates = [
    fileURLToPath(new URL('../../collector/lib/tracker.js', import.meta.url)),
    fileURLToPath(new URL('../../dist/collector/lib/tracker.js', import.meta.url)),
  ];
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new UserFacingError(`cannot find the compiled Tracker (${candidates[0]}); run 'npm run build:ts'`);
  return found;
}

/** Waits `ms`, or less on Ctrl-C or SIGTERM; true when `targetEnded()` came true first. */
function waitOrInterrupt(ms: number, targetEnded: () => boolean): Promise<boolean> {
  return new Promise((done) => {
    const finish = (ended: boolean) => {
      clearTimeout(timer);
      clearInterval(watch);
      process.off('SIGINT', interrupted);
      process.off('SIGTERM', interrupted);
      done(ended);
    };
    const interrupted = () => finish(false);
    const timer = setTimeout(interrupted, ms);
    const watch = setInterval(() => {
      try {
        if (targetEnded()) finish(true);
      } catch {
        // The capture could not be looked at this time (replaced, removed): the next check decides.
      }
    }, TARGET_WATCH_MS);
    process.on('SIGINT', interrupted);
    process.on('SIGTERM', interrupted);
  });
}

/**
 * The traced process ended before memview stopped tracing. If it exited, its Tracker finished the
 * capture; if it was killed, the capture holds what was written up to its last flush, and its
 * native frames are named here, from the objects on this machine.
 */
async function reportEndedTarget(pid: number, output: string): Promise<number> {
  if (!existsSync(output)) throw new UserFacingError(`process ${pid} ended before it wrote a capture to ${output}`);
  if (endsWithTrailer(output)) {
    console.error(`memview: process ${pid} exited while traced; wrote ${output} (${formatBytes(statSync(output).size)})`);
    return 0;
  }
  const { nameFramesAfterTheFact } = await import('./symbolize.js');
  const { description } = await nameFramesAfterTheFact(output);
  console.error(`memview: process ${pid} was killed while traced; ${output} (${formatBytes(statSync(output).size)}) holds what it wrote up to its last flush; ${description}`);
  return 1;
}
