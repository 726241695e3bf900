// `memview live app.js`: run a program traced (as `memview run` does) and show, refreshed four times a
// second, what is live now per function and per thread, the heap, tracked memory and RSS. The
// program's own output goes to a log file so it cannot tear the screen; q quits (and stops it).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, renameSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AttachError, stopTracking, type InspectorSession } from '../../collector/lib/attach-inspector.js';
import { receiveCapture, type CaptureReceiver } from '../../collector/lib/capture-relay.js';
import { CaptureTail } from '../../collector/lib/live-tail.js';
import { parseOptions } from '../parse-options.js';
import { UsageError, UserFacingError } from '../usage-error.js';
import { liveScreen, liveThreads, type LiveState } from '../terminal/live-screen.js';
import { paletteFor, terminalColumns } from '../terminal/style.js';
import { refuseCapturePathOfRun } from '../terminal/output-guard.js';
import { programWords } from '../terminal/program-words.js';
import { cannotWrite, writeFailureReason } from '../terminal/write-failure.js';
import { inspectorPort, processId, startTrackerIn } from './attach.js';

export const summary = 'watch live memory per function and thread as a program runs (or --attach PID, --follow FILE)';

const usage = 'memview live [-o capture.bin] [-f] [--log FILE] [--native] script.js [args...] | --attach PID [--port P] | --port P | --follow capture.bin';

const help = `usage: ${usage}
       memview live [options] -- command [args...]
       memview live [-o capture.bin] [-f] [--native] --attach PID [--port P]
       memview live [-o capture.bin] --port P
       memview live --follow capture.bin

Runs the program traced and shows what is live now: per function (native and node-internal
frames count for the function of the program that called them), per thread, and the heap,
tracked memory and RSS. The program's stdout and stderr go to a log file (shown on screen);
its stdin is closed. Keys: q quit (stops the program), s sort by bytes/count, t/T next/previous thread.
--attach traces a running node process as memview attach does, and q detaches (the process goes on).
--port P alone watches a program started elsewhere with 'memview run --live-remote --port P'
(127.0.0.1 only), keeping the capture it receives; q then only quits the view.
--follow watches a capture another memview (run, attach) is writing; q then only quits the view.

Options:
  -o, --output FILE   capture path (default memview-live-<script>.<pid>.bin; kept afterwards)
  -f, --force         overwrite an existing capture
      --log FILE      where the program's output goes (default <capture>.log)
      --native        keep the C/C++ frames between JavaScript frames
      --attach PID    watch a running node process (memview attach) instead of starting a program
      --port P        alone: watch 'memview run --live-remote --port P' (received into -o FILE);
                      with --attach: the process's inspector port (default 9229)
      --follow FILE   watch a capture being written by another memview instead of running a program
  -h, --help          show this help`;

const options = {
  output: { type: 'string', short: 'o' },
  force: { type: 'boolean', short: 'f' },
  log: { type: 'string' },
  native: { type: 'boolean' },
  follow: { type: 'string' },
  attach: { type: 'string' },
  port: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const REFRESH_INTERVAL_MS = 250;

export async function run(argv: string[]): Promise<number> {
  const { values, passthrough } = parseOptions(argv, options, usage, { stopAtFirstPositional: true });
  if (values.help) {
    console.log(help);
    return 0;
  }
  // --port alone watches a `memview run --live-remote --port P`; with --attach it is the inspector's.
  const remote = values.port !== undefined && values.attach === undefined;
  const sources = [passthrough.length > 0, values.follow !== undefined, values.attach !== undefined, remote].filter(Boolean).length;
  if (sources === 0) throw new UsageError('nothing to watch: give a script, -- command, --attach PID, --port P or --follow FILE', usage);
  if (sources > 1) throw new UsageError('give one of: a program to run, --attach PID, --port P, --follow FILE', usage);
  const pid = values.attach === undefined ? undefined : processId([values.attach], usage);
  const port = inspectorPort(values.port, usage);
  if (!process.stdout.isTTY || !process.stdin.isTTY) {
    throw new UserFacingError('memview live needs a terminal (use memview run to trace without one)');
  }
  let attached: InspectorSession | undefined;
  let capturePath: string;
  if (pid !== undefined) {
    capturePath = resolve(values.output ?? `memview-live-attach.${pid}.bin`);
    if (existsSync(capturePath) && !values.force) throw new UserFacingError(`${values.output ?? capturePath} exists; use -f to overwrite it`);
    try {
      attached = await startTrackerIn(pid, { output: capturePath, port, timeoutMs: 5000, native: values.native === true, force: values.force === true });
    } catch (error) {
      if (error instanceof AttachError) throw new UserFacingError(`cannot attach to process ${pid}: ${error.message}`);
      throw error;
    }
  }
  let receiver: CaptureReceiver | undefined;
  if (remote) {
    capturePath = resolve(values.output ?? `memview-live-remote.${port}.${process.pid}.bin`);
    if (existsSync(capturePath) && !values.force) throw new UserFacingError(`${values.output ?? capturePath} exists; use -f to overwrite it`);
    try {
      receiver = await receiveCapture(port, capturePath);
    } catch (error) {
      throw new UserFacingError(`cannot connect to a live capture on 127.0.0.1:${port}: ${(error as Error).message} (start one with 'memview run --live-remote --port ${port} app.js')`);
    }
  }
  const program = passthrough.length > 0 ? startProgram(argv, passthrough, values) : undefined;
  capturePath = program?.capturePath ?? (pid !== undefined || remote ? capturePath! : resolve(values.follow!));
  const logPath = program?.logPath;

  const tail = new CaptureTail(program?.writingPath ?? capturePath);
  const title = program ? passthrough.join(' ')
    : pid !== undefined ? `process ${pid} (attached; q detaches)`
    : remote ? `127.0.0.1:${port} (received into ${capturePath})`
    : `following ${capturePath}`;
  const state: LiveState = { sortBy: 'bytes', threadIndex: -1, command: title, logPath };
  const screen = new FullScreen();
  const palette = paletteFor();
  let threadCount = 0;
  // A snapshot costs a pass over the whole call tree: take one only when new chunks came in.
  let model: ReturnType<CaptureTail['snapshot']>;
  let modelChunks = -1;
  const draw = () => {
    if (tail.figures.chunks !== modelChunks || (!model && tail.started)) {
      model = tail.snapshot();
      modelChunks = tail.figures.chunks;
      if (model) threadCount = liveThreads(model).length;
    }
    state.exitDescription = tail.error ? `cannot read the capture: ${tail.error.message}`
      : program ? program.exitDescription
      : tail.figures.ended ? (pid !== undefined ? 'the process exited' : 'the capture ended') : undefined;
    screen.draw(liveScreen(model, tail.figures, state, terminalColumns(), process.stdout.rows || 24, palette));
  };

  let failedToStart = false;
  screen.enter();
  try {
    await new Promise<void>((quit) => {
      // A program that ends before writing any capture (memview run refused, the script failed
      // at once) leaves nothing to watch: say so and show its output.
      void program?.exited.then(() => setTimeout(() => {
        if (!tail.started && !existsSync(program.writingPath)) { failedToStart = true; onKey('q'); }
      }, 300));
      const timer = setInterval(draw, REFRESH_INTERVAL_MS);
      draw();
      const onKey = (key: string) => {
        if (key === 'q' || key === '\x03' || key === '\x1b') {
          clearInterval(timer);
          process.stdin.off('data', onKey);
          process.stdout.off('resize', draw);
          quit();
          return;
        } else if (key === 's') state.sortBy = state.sortBy === 'bytes' ? 'count' : 'bytes';
        else if (key === 't') state.threadIndex = state.threadIndex + 1 >= threadCount ? -1 : state.threadIndex + 1;
        else if (key === 'T') state.threadIndex = state.threadIndex <= -1 ? threadCount - 1 : state.threadIndex - 1;
        draw();
      };
      process.stdin.setRawMode(true);
      process.stdin.setEncoding('utf8');
      process.stdin.on('data', onKey);
      process.stdin.resume();
      process.stdout.on('resize', draw);
      process.once('SIGTERM', () => onKey('q'));
    });
  } finally {
    process.stdin.setRawMode(false);
    process.stdin.pause();
    screen.leave();
  }

  if (program) await program.stop();
  if (attached) {
    try {
      await stopTracking(attached);
      console.error(`memview: detached from process ${pid}`);
    } catch (error) {
      // The process exited while watched: its Tracker stopped at exit.
      if (!(error instanceof AttachError)) throw error;
    }
  }
  receiver?.close();
  await tail.stop();
  if (program && program.writingPath !== capturePath && existsSync(program.writingPath)) {
    try {
      renameSync(program.writingPath, capturePath);
    } catch (error) {
      throw new UserFacingError(`cannot put this run's capture at ${capturePath} (${writeFailureReason(error)}); it is at ${program.writingPath}`);
    }
  }
  if (failedToStart && program) {
    const output = readFileSync(program.logPath, 'utf8').trimEnd().split('\n').slice(-10).join('\n');
    throw new UserFacingError(`${program.exitDescription ?? 'the program ended'} before writing a capture${output ? `; its output:\n${output}` : ` (output in ${program.logPath})`}`);
  }
  if (tail.error) throw new UserFacingError(`${capturePath}: ${tail.error.message}`);
  if (program?.exitDescription) console.error(`memview: ${program.exitDescription}`);
  const note = tail.figures.ended ? '' : ' (no trailer yet: it covers everything up to its last flush)';
  console.error(`memview: capture ${capturePath}${note}`);
  if (program) console.error(`memview: program output ${program.logPath}`);
  // The program's own status when it ended by itself, as `memview run` gives it; quitting with q
  // (which stops the program) is the normal end of a session.
  return program && !program.stoppedByLive ? program.exitStatus ?? 1 : 0;
}

interface RunningProgram {
  capturePath: string;
  /** Where this run writes: the capture path, or beside it while an earlier capture is there. */
  writingPath: string;
  logPath: string;
  exited: Promise<void>;
  exitDescription: string | undefined;
  /** `memview run`'s status: the program's, 128 + the signal's number for a signal, 1 if run failed. */
  exitStatus: number | undefined;
  stoppedByLive: boolean;
  /** Stops the program (SIGINT, then SIGKILL after 5 s) if it still runs. */
  stop(): Promise<void>;
}

/** Starts `memview run` on the program; its own messages and the program's output go to the log. */
function startProgram(argv: string[], passthrough: string[], values: { output?: string; force?: boolean; log?: string; native?: boolean }): RunningProgram {
  const explicitCommand = argv.includes('--');
  // Only read here (what is run, under which name): `memview run` is handed the same words.
  const { stem } = programWords(passthrough, explicitCommand);
  const capturePath = resolve(values.output ?? `memview-live-${stem}.${process.pid}.bin`);
  if (values.output !== undefined) refuseCapturePathOfRun(values.output, capturePath, passthrough[0]);
  if (existsSync(capturePath) && !values.force) throw new UserFacingError(`${values.output ?? capturePath} exists; use -f to overwrite it`);
  const logPath = resolve(values.log ?? `${capturePath}.log`);
  // An earlier capture at the path (-f) stays until this run has written one of its own: the
  // screen must never show the old run's figures as this one's (a command that is not found
  // writes nothing), and a run that never starts must not cost the old capture.
  const writingPath = existsSync(capturePath) ? `${capturePath}.${process.pid}.partial` : capturePath;

  let logFd: number;
  try {
    logFd = openSync(logPath, 'w');
  } catch (error) {
    throw cannotWrite(logPath, error);
  }
  // The `memview` command itself (bin/memview), so that the run goes through the native launcher.
  const memviewCommand = fileURLToPath(new URL('../../../bin/memview', import.meta.url));
  const runArguments = ['run', '-q', '-f', '-o', writingPath, ...(values.native ? ['--native'] : []), ...(explicitCommand ? ['--'] : []), ...passthrough];
  const child = spawn(memviewCommand, runArguments, { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const program: RunningProgram = {
    capturePath,
    writingPath,
    logPath,
    exitDescription: undefined,
    exitStatus: undefined,
    stoppedByLive: false,
    exited: new Promise<void>((done) => {
      child.once('exit', (code, signal) => {
        program.exitDescription ??= signal ? `the program was stopped by ${signal}` : `the program exited with status ${code}`;
        program.exitStatus = signal ? 128 + (osConstants.signals[signal] ?? 0) : code ?? 1;
        done();
      });
      child.once('error', (error) => { program.exitDescription = `cannot start the program: ${error.message}`; program.exitStatus = 1; done(); });
    }),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      console.error('memview: stopping the program (SIGINT)…');
      program.exitDescription = 'memview live stopped the program';
      program.stoppedByLive = true;
      child.kill('SIGINT');
      const stopped = await Promise.race([program.exited.then(() => true), new Promise<boolean>((done) => setTimeout(() => done(false), 5000))]);
      if (!stopped) child.kill('SIGKILL');
      await program.exited;
    },
  };
  return program;
}

/** The alternate screen, cursor hidden; everything restored on leave (also on a crash or exit). */
class FullScreen {
  private active = false;
  private readonly restore = () => this.leave();

  enter(): void {
    process.stdout.write('\x1b[?1049h\x1b[?25l');
    this.active = true;
    process.once('exit', this.restore);
  }

  draw(lines: string[]): void {
    process.stdout.write(`\x1b[H${lines.map((line) => `${line}\x1b[K`).join('\r\n')}\x1b[J`);
  }

  leave(): void {
    if (!this.active) return;
    this.active = false;
    process.off('exit', this.restore);
    process.stdout.write('\x1b[?25h\x1b[?1049l');
  }
}
