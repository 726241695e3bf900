// `memview run`: start a program with the tracing core preloaded from its very first allocation,
// wait for it, and leave a capture file. The program's own output and exit status pass through.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { endsWithTrailer, isAlive } from '../../collector/lib/capture-ending.js';
import { basename, dirname, join, resolve } from 'node:path';
import type { CaptureServer } from '../../collector/lib/capture-relay.js';
import { assertCollectorBuilt, preloadLibraryPath, registerScriptPath } from '../../collector/lib/native-paths.js';
import { isStaticExecutable } from '../../collector/lib/static-executable.js';
import { parseOptions } from '../parse-options.js';
import { refuseCapturePathOfRun } from '../terminal/output-guard.js';
import { programWords } from '../terminal/program-words.js';
import { UsageError, UserFacingError } from '../usage-error.js';

export const summary = 'profile a program: memview run [options] script.js [args] | -- command [args]';

const usage = 'memview run [-o capture.bin] [-f] [--native] [--no-inlining] [--follow-fork] [--sample-interval MS] [--live-remote --port P] script.js [args...]\n' +
  '       memview run [options] -- command [args...]';

const help = `${usage}

Runs the program with every native allocation traced and writes a capture file
(default: memview-<script>.<pid>.bin in the current directory). 'memview run node
[node options] script.js' runs that node, as 'memview run -- node ...' does.

Options:
  -o, --output FILE        capture path (refuses to overwrite unless -f; never a directory
                           or the program itself)
  -f, --force              overwrite an existing capture
      --native             keep the C/C++ frames between JavaScript frames (hybrid stacks)
      --no-inlining        exact JavaScript frames in hot code: V8's optimizing compiler inlines
                           small functions into their callers, and an allocation made in an inlined
                           function shows in its caller, at a line that may be wrong; this turns
                           inlining off (hot code runs slower, and node's code cache is not used:
                           ~15 ms more per process and worker)
      --follow-fork        also trace child processes, into <capture>.<childpid>
      --sample-interval MS RSS and time sampling interval (default 10)
      --live-remote        serve the capture as it is written on 127.0.0.1 (--port),
                           for 'memview live --port P' in another terminal
      --port P             the port for --live-remote
  -q, --quiet              do not print where the capture went
  -h, --help               show this help

The exit status is the program's.`;

const options = {
  output: { type: 'string', short: 'o' },
  force: { type: 'boolean', short: 'f' },
  native: { type: 'boolean' },
  'no-inlining': { type: 'boolean' },
  'follow-fork': { type: 'boolean' },
  'sample-interval': { type: 'string' },
  'live-remote': { type: 'boolean' },
  port: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** NODE_OPTIONS values with spaces must be quoted. */
function quoteNodeOption(value: string): string {
  return /[\s"\\]/.test(value) ? `"${value.replace(/(["\\])/g, '\\$1')}"` : value;
}

export async function run(argv: string[]): Promise<number> {
  const { values, passthrough } = parseOptions(argv, options, usage, { stopAtFirstPositional: true });
  if (values.help) {
    console.log(help);
    return 0;
  }
  if (passthrough.length === 0) throw new UsageError('nothing to run: give a script or -- command', usage);
  const explicitCommand = argv.includes('--') && argv.indexOf('--') <= argv.length - passthrough.length;
  const sampleIntervalMs = values['sample-interval'] === undefined ? 10 : Number(values['sample-interval']);
  if (!Number.isInteger(sampleIntervalMs) || sampleIntervalMs < 1 || sampleIntervalMs > 60000) {
    throw new UsageError(`--sample-interval must be a whole number of milliseconds (1-60000), not '${values['sample-interval']}'`, usage);
  }

  const livePort = values.port === undefined ? undefined : Number(values.port);
  if (values['live-remote'] && livePort === undefined) throw new UsageError('--live-remote needs --port P', usage);
  if (livePort !== undefined && !values['live-remote']) throw new UsageError('--port goes with --live-remote', usage);
  if (livePort !== undefined && !(Number.isInteger(livePort) && livePort > 0 && livePort < 65536)) {
    throw new UsageError(`--port must be a TCP port number, not '${values.port}'`, usage);
  }

  const { command, commandArguments, stem } = programWords(passthrough, explicitCommand);

  try {
    assertCollectorBuilt();
  } catch (error) {
    throw new UserFacingError((error as Error).message);
  }

  // The preloaded core replaces %p with the pid of the process memview runs (in its followed
  // children too, whose captures are named after it).
  const outputTemplate = resolve(values.output ?? `memview-${stem}.%p.bin`);
  if (values.output !== undefined) {
    refuseCapturePathOfRun(values.output, outputTemplate, passthrough[0]);
    if (existsSync(outputTemplate)) {
      if (!values.force) throw new UserFacingError(`${values.output} exists; use -f to overwrite it`);
      // -f onto a file this user may not write: said now, before the program runs for nothing.
      try {
        accessSync(outputTemplate, constants.W_OK);
      } catch {
        throw new UserFacingError(`cannot write the capture: ${values.output} is not writable`);
      }
    }
  }
  if (!existsSync(dirname(outputTemplate))) {
    throw new UserFacingError(`cannot write the capture: directory ${dirname(outputTemplate)} does not exist`);
  }
  try {
    accessSync(dirname(outputTemplate), constants.W_OK);
  } catch {
    throw new UserFacingError(`cannot write the capture: directory ${dirname(outputTemplate)} is not writable`);
  }

  const environment = { ...process.env };
  environment.LD_PRELOAD = [preloadLibraryPath, environment.LD_PRELOAD].filter(Boolean).join(':');
  environment.MEMVIEW_OUTPUT = outputTemplate;
  environment.MEMVIEW_NATIVE = values.native ? '1' : '0';
  environment.MEMVIEW_NO_INLINING = values['no-inlining'] ? '1' : '0';
  environment.MEMVIEW_FOLLOW_FORK = values['follow-fork'] ? '1' : '0';
  environment.MEMVIEW_SAMPLE_MS = String(sampleIntervalMs);
  delete environment.MEMVIEW_ROOT_PID;
  // Every node process in the tree loads the JIT bridge. No V8 flag is needed: interpreted frames
  // are named from their own frame slots (docs/collector.md), so node's code cache stays valid.
  environment.NODE_OPTIONS = [
    environment.NODE_OPTIONS,
    `--require ${quoteNodeOption(registerScriptPath)}`,
  ].filter(Boolean).join(' ');

  let liveServer: CaptureServer | undefined;
  let capturePathOnceStarted: string | undefined;
  if (livePort !== undefined) {
    // Loaded only for --live-remote: the HTTP server costs every other run start-up time.
    const { serveGrowingCapture } = await import('../../collector/lib/capture-relay.js');
    liveServer = serveGrowingCapture(() => capturePathOnceStarted, livePort);
    try {
      await liveServer.listening;
    } catch (error) {
      throw new UserFacingError(`cannot serve the live capture on 127.0.0.1:${livePort}: ${(error as Error).message}`);
    }
    if (!values.quiet) console.error(`memview: serving the capture live on 127.0.0.1:${livePort} (watch it with 'memview live --port ${livePort}')`);
  }

  const child = spawn(command, commandArguments, { stdio: 'inherit', env: environment });
  if (child.pid !== undefined) capturePathOnceStarted = outputTemplate.replace('%p', String(child.pid));
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const forwarders: [NodeJS.Signals, () => void][] = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((signal) => [signal, forward(signal)]);
  for (const [signal, handler] of forwarders) process.on(signal, handler);

  const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((done) => {
    child.once('error', (error) => done({ code: null, signal: null, error }));
    child.once('exit', (code, signal) => done({ code, signal }));
  });
  for (const [signal, handler] of forwarders) process.off(signal, handler);
  await liveServer?.finish();

  if (outcome.error) {
    const code = (outcome.error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'command not found' : code === 'EACCES' ? 'permission denied (not an executable file?)' : outcome.error.message;
    throw new UserFacingError(`cannot start '${command}': ${reason}`);
  }
  return concludeRun({
    capturePath: outputTemplate.replace('%p', String(child.pid)),
    outputTemplate,
    code: outcome.code,
    signal: outcome.signal,
    followFork: values['follow-fork'] === true,
    quiet: values.quiet === true,
    program: command,
  });
}

/** How a traced program ended, for concludeRun. */
export interface RunEnding {
  capturePath: string;
  outputTemplate: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The status to exit with, when the caller knows it better than the signal's name tells. */
  exitStatus?: number;
  followFork: boolean;
  quiet: boolean;
  /** The program run (node for a script), to say why no capture came. */
  program?: string;
}

/**
 * What follows the traced program's exit: says where the capture went, or why it is missing or
 * incomplete; names the native frames of a capture whose program was killed; returns the exit
 * status (the program's). The native launcher (collector/src/launcher/run_launcher.cpp) hands
 * every ending but the plain one here through `memview __conclude-run`.
 */
export async function concludeRun({ capturePath, code, signal, exitStatus: knownStatus, followFork, quiet, program }: RunEnding): Promise<number> {
  const exitStatus = knownStatus ?? (signal ? 128 + (osConstants.signals[signal] ?? 1) : code ?? 1);
  if (!existsSync(capturePath)) {
    const why = program && isStaticExecutable(program)
      ? `: ${program} is statically linked, so memview's library cannot be loaded into it (only dynamically linked programs can be traced)`
      : '';
    console.error(`memview: no capture was written to ${capturePath}${why}`);
    return exitStatus === 0 ? 1 : exitStatus;
  }
  const complete = endsWithTrailer(capturePath);
  if (!signal && !complete) {
    // The program ended normally but the collector could not finish the capture (it said why,
    // e.g. the disk filled): the capture is readable up to the failure, but incomplete. Or it
    // could not write a byte of it (a device that takes nothing): then there is no capture.
    console.error(statSync(capturePath).size === 0
      ? `memview: no capture was written to ${capturePath}`
      : `memview: ${capturePath} has no trailer; readers show what it holds and say that it is incomplete`);
    return exitStatus === 0 ? 1 : exitStatus;
  }
  if (signal && !complete) await nameFramesAfterDeath(capturePath, signal, quiet);
  const children = followFork ? await nameFramesOfEndedChildren(capturePath, quiet) : 0;
  if (!quiet) {
    const size = formatBytes(statSync(capturePath).size);
    const ending = !signal
      ? ''
      : complete
        ? ` (the program ended on ${signal})`
        : ` (the program was killed by ${signal}; the capture holds everything up to its last flush)`;
    console.error(`memview: wrote ${capturePath} (${size})${ending}`);
    if (children > 0) console.error(`memview: and ${children} capture${children === 1 ? '' : 's'} of child processes, ${capturePath}.<pid>`);
    console.error(`memview: see it with 'memview stats ${capturePath}' or 'memview ${capturePath}'`);
  }
  return exitStatus;
}

/**
 * The program was killed before its collector could name the native frames (SIGKILL, the OOM
 * killer, or a signal a non-node program leaves at its default): names them from the objects on
 * disk and records the signal in the capture. A failure here costs names, not the capture.
 */
async function nameFramesAfterDeath(capturePath: string, signal: NodeJS.Signals, quiet: boolean): Promise<void> {
  const { nameFramesAfterTheFact } = await import('./symbolize.js');
  const size = statSync(capturePath).size;
  // The whole capture is read (~10 M events a second): say why a big one takes a while.
  if (!quiet && size > 64 << 20) console.error(`memview: naming the native frames of ${capturePath} (${formatBytes(size)}); Ctrl-C leaves it unnamed`);
  const { outcome, description } = await nameFramesAfterTheFact(capturePath, signal);
  if (!outcome || (!quiet && outcome.nativePcs > 0)) console.error(`memview: ${description}`);
}

/**
 * Followed children that ended without finishing their captures (the OOM killer picks the biggest
 * process, often a worker child): names their native frames too. Every followed process, forked or
 * exec'd, writes the root's capture path plus `.<pid>`, or `.<pid>.<n>` when an earlier process
 * with the same pid left its capture there. A child still running (a daemon that outlives the
 * program) is writing its capture and is left alone.
 */
async function nameFramesOfEndedChildren(rootCapture: string, quiet: boolean): Promise<number> {
  const directory = dirname(rootCapture);
  const escaped = basename(rootCapture).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const childCapture = new RegExp(`^${escaped}\\.(\\d+)(?:\\.\\d+)?$`);
  let children = 0;
  for (const name of readdirSync(directory)) {
    const match = childCapture.exec(name);
    if (!match) continue;
    children++;
    const path = join(directory, name);
    const pid = Number(match[1]);
    if (isAlive(pid) || endsWithTrailer(path)) continue;
    const { nameFramesAfterTheFact } = await import('./symbolize.js');
    const { outcome, description } = await nameFramesAfterTheFact(path);
    // A child that forked and then exec'd left a capture with nothing in it: nothing to say.
    if (!outcome || (!quiet && (outcome.nativePcs > 0 || outcome.cutBytes > 0))) {
      console.error(`memview: ${path}, of a child that ended without finishing it: ${description}`);
    }
  }
  return children;
}
