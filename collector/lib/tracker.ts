// The in-process API: trace part of a program from inside it.
//
//   const tracker = new Tracker({ output: 'part.bin' });
//   await tracker.start(); ...; await tracker.stop();
//
// The tracing core is loaded into the running process and the allocator entries of every loaded
// object are redirected to it. Memory allocated before start() is unknown to the capture: its
// frees are ignored by readers.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { addonPath, assertCollectorBuilt, preloadLibraryPath } from './native-paths.js';

export interface TrackerOptions {
  /** Capture file to write. */
  output: string;
  /** Keep native (C/C++) frames between JavaScript frames. */
  native?: boolean;
  /** RSS and time sampling interval. */
  sampleIntervalMs?: number;
  /** Overwrite an existing capture file. */
  force?: boolean;
}

interface Addon {
  loadCore(path?: string): boolean;
  isTracing(): boolean;
  watchIsolate(): void;
  /** Phase 0, then phase 1 from one JavaScript frame deeper: finds V8's exit-frame slot (addon.cc). */
  probeJsExit(phase: number): boolean;
  setAsideAllocations(on: boolean): void;
  unwatchIsolate(): void;
  start(path: string, native: boolean, intervalMs: number): void;
  stop(reason?: string): void;
  meta(key: string, value: string): void;
  finishOnEndingSignals(signals: string[]): void;
}

let activeTracker: Tracker | undefined;

function loadAddon(): Addon {
  assertCollectorBuilt();
  return createRequire(import.meta.url)(addonPath) as Addon;
}

const ENDING_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export class Tracker {
  readonly output: string;
  private readonly options: TrackerOptions;
  private addon: Addon | undefined;

  constructor(options: TrackerOptions) {
    if (!options || typeof options.output !== 'string' || options.output === '') {
      throw new TypeError('Tracker needs an output path: new Tracker({ output: "capture.bin" })');
    }
    this.options = options;
    this.output = resolve(options.output);
  }

  async start(): Promise<void> {
    if (activeTracker) throw new Error(`a Tracker is already active in this process (writing ${activeTracker.output})`);
    if (existsSync(this.output) && !this.options.force) {
      throw new Error(`${this.output} exists; pass force: true to overwrite it`);
    }
    const addon = loadAddon();
    addon.loadCore(preloadLibraryPath);
    if (addon.isTracing()) {
      // The capture is the process's, whichever thread started it: under `memview run` its
      // environment says so (workers inherit it); else a Tracker of another thread holds it.
      throw new Error(process.env.MEMVIEW_OUTPUT
        ? 'this process is already traced (it runs under `memview run`); a Tracker cannot start a second capture'
        : 'a Tracker of another thread of this process is already writing a capture; a Tracker cannot start a second one');
    }
    addon.start(this.output, this.options.native === true, this.options.sampleIntervalMs ?? 10);
    // V8 listing its code for memview is not the program's doing: those allocations stay out of
    // the capture, as register.cjs's do under `memview run`. Only memview's own calls run in that
    // window (a require or a listener would run the program's hooks, whose allocations count).
    addon.setAsideAllocations(true);
    try {
      addon.watchIsolate();
      findJsExit(addon);
      addon.meta('nodeVersion', process.version);
    } finally {
      addon.setAsideAllocations(false);
    }
    this.addon = addon;
    activeTracker = this;
    // Ctrl-C or `kill` while tracing, with no listener of the program's: the capture is finished
    // in the signal's handler (signal as its end reason), then the signal ends the program.
    addon.finishOnEndingSignals(ENDING_SIGNALS.filter((signal) => process.listenerCount(signal) === 0));
  }

  async stop(): Promise<void> {
    this.end('stopped');
  }

  private end(reason: string): void {
    if (!this.addon || activeTracker !== this) return;
    this.addon.unwatchIsolate();
    this.addon.stop(reason);
    this.addon = undefined;
    activeTracker = undefined;
  }
}

// The walks skip the C++ frames between an allocation and the JavaScript that led to it: the addon
// finds where V8 keeps the innermost JavaScript-to-C++ frame by calling it from two depths.
function findJsExit(addon: Addon): boolean {
  addon.probeJsExit(0);
  return (function oneFrameDeeper() {
    return addon.probeJsExit(1);
  })();
}
