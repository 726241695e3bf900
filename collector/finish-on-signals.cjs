// SIGINT, SIGTERM or SIGHUP to a node program that does not handle them ends it at once (node's own
// handler), and the capture would end without its trailer: no native symbols, read as truncated.
// While tracing, a listener finishes the capture first, then lets the signal do what it would have
// done, so the exit status stays the signal's. A program with a listener of its own decides when
// to exit (the `exit` event or its stop() covers it): the listener then steps aside.
// CommonJS and plain JavaScript: register.cjs loads it before anything else, in any module mode.
'use strict';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Calls finish(signal) on a signal the program leaves unhandled; returns what removes the listeners. */
function finishCaptureOnSignals(finish) {
  const listeners = SIGNALS.map((signal) => {
    const listener = () => {
      if (process.listenerCount(signal) > 1) return;  // the program handles it
      process.removeListener(signal, listener);
      finish(signal);
      process.kill(process.pid, signal);
    };
    process.on(signal, listener);
    return [signal, listener];
  });
  return () => {
    for (const [signal, listener] of listeners) process.removeListener(signal, listener);
  };
}

module.exports = { finishCaptureOnSignals };
