// Loaded with `--require` into every Node.js process and worker that `memview run` traces (the
// launcher puts it in NODE_OPTIONS, which child node processes inherit). It connects V8 to the
// tracing core: JIT code events name the JavaScript frames, and the thread gets a readable name.
// CommonJS and plain JavaScript on purpose: it runs before anything else, in any module mode.
'use strict';
const path = require('node:path');

function loadAddon() {
  try {
    return require(path.join(__dirname, 'build', 'Release', 'memview.node'));
  } catch (error) {
    if (process.env.MEMVIEW_DEBUG === '1') console.error(error);
    return undefined;
  }
}

const WORKER_NAME_KEY = 'memview:worker-name';

const addon = loadAddon();
if (addon && addon.loadCore() && addon.isTracing()) {
  // What memview sets up here (V8 listing its code, worker_threads, the Worker hook) allocates on
  // the program's heap, but it is not the program's: those allocations stay out of the capture.
  // Only memview's own calls run in that window: worker_threads is taken with
  // process.getBuiltinModule, past any require hook a preload of the program installed, and the
  // listeners (which 'newListener' hooks would see) are added after it.
  addon.setAsideAllocations(true);
  let workerThreads;
  try {
    addon.watchIsolate();
    findJsExit(addon);
    workerThreads = builtin('node:worker_threads');
    // `memview run --no-inlining`: TurboFan's inlined functions leave no frame of their own, and
    // their positions are looked up in the caller's script (wrong lines). Flags are the process's:
    // set before the program compiles anything, they hold for its workers too.
    if (workerThreads.isMainThread && process.env.MEMVIEW_NO_INLINING === '1') {
      builtin('node:v8').setFlagsFromString('--no-turbo-inlining --no-maglev-inlining');
      addon.meta('inlining', 'off');
    }
    if (workerThreads.isMainThread) {
      addon.meta('nodeVersion', process.version);
    } else {
      const name = workerThreads.getEnvironmentData(WORKER_NAME_KEY);
      addon.setThreadName(name ? `worker ${workerThreads.threadId} (${name})` : `worker ${workerThreads.threadId}`);
    }
    passWorkerNames(workerThreads);
  } finally {
    addon.setAsideAllocations(false);
  }
  if (workerThreads.isMainThread) {
    // Stop before node tears the environment down: teardown frees every ArrayBuffer and handle,
    // and "still live at exit" should mean what the program held, not what survived teardown.
    // The core finishes the file (symbols, trailer) while the teardown runs. Not an 'exit'
    // listener: one added here runs before every listener the program adds, whose allocations
    // were then lost (and the program saw a listener it never added). node emits 'exit' through
    // process.emit, both on process.exit() and when the event loop runs dry, so stopping after
    // that call returns (or throws) stops after the program's last listener.
    stopAfterExitListeners(addon);
    // Ctrl-C, SIGTERM or SIGHUP the program has no listener for ends it at once, as without memview:
    // the capture is finished in the signal's handler first (a listener here would have held the
    // signal until the event loop turned, and a busy program could not be stopped).
    addon.finishOnEndingSignals(['SIGINT', 'SIGTERM', 'SIGHUP'].filter((signal) => process.listenerCount(signal) === 0));
  }
}

function stopAfterExitListeners(withAddon) {
  const emitEvent = process.emit;
  process.emit = function emit(event) {
    if (event !== 'exit') return Reflect.apply(emitEvent, this, arguments);
    try {
      return Reflect.apply(emitEvent, this, arguments);
    } finally {
      withAddon.stopAtExit();
    }
  };
}

// The walks skip the C++ frames between an allocation and the JavaScript that led to it: the
// addon finds where V8 keeps the innermost JavaScript-to-C++ frame by calling it from two depths.
function findJsExit(withAddon) {
  withAddon.probeJsExit(0);
  return (function oneFrameDeeper() {
    return withAddon.probeJsExit(1);
  })();
}

// A builtin module past the require hooks a preload of the program may have installed
// (process.getBuiltinModule, node >= 20.16): memview's set-up must not run the program's code.
function builtin(name) {
  return process.getBuiltinModule ? process.getBuiltinModule(name) : require(name);
}

// A worker cannot see the `name` it was created with (Node 20), so each Worker constructor hands
// it over through the environment data, which a new worker receives as a copy at construction.
function passWorkerNames(workerThreads) {
  const OriginalWorker = workerThreads.Worker;
  workerThreads.Worker = class Worker extends OriginalWorker {
    constructor(filename, options) {
      workerThreads.setEnvironmentData(WORKER_NAME_KEY, options && options.name ? String(options.name) : undefined);
      super(filename, options);
    }
  };
  // As the program knows it (Worker.length is 1).
  Object.defineProperty(workerThreads.Worker, 'length', { value: OriginalWorker.length });
  // `import { Worker } from 'node:worker_threads'` reads the ESM view of the builtin.
  builtin('node:module').syncBuiltinESMExports();
}
