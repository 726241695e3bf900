// For the diagnostic heaptrack run only: what collector/register.cjs does when tracing is on,
// except installing the JIT code event handler (addon.watchIsolate) and talking to the core —
// it loads worker_threads and adds an exit listener. With tracing off (no LD_PRELOAD) the real
// register script stops before that, so heaptrack is run with both.
'use strict';
const workerThreads = require('node:worker_threads');
if (workerThreads.isMainThread) process.on('exit', () => {});
