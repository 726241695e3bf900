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

const addon = loadAddon();
if (addon && addon.loadCore() && addon.isTracing()) {
  addon.watchIsolate();
  const workerThreads = require('node:worker_threads');
  if (workerThreads.isMainThread) {
    addon.meta('nodeVersion', process.version);
    // Stop before node tears the environment down: teardown frees every ArrayBuffer and handle,
    // and "still live at exit" should mean what the program held, not what survived teardown.
    process.on('exit', () => addon.stop('exit'));
  } else {
    const name = workerThreads.threadName || (workerThreads.workerData && workerThreads.workerData.name);
    addon.setThreadName(name ? `worker ${workerThreads.threadId} (${name})` : `worker ${workerThreads.threadId}`);
  }
}
