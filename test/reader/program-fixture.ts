// A tiny made-up program for known-answer tests: thread 1 is "main", with JavaScript functions
// main() → load() and main() → parse() in /app/server.js, and a worker thread 2.
import { SyntheticCapture } from '../support/synthetic-capture.js';

export function programCapture() {
  const capture = new SyntheticCapture();
  capture.meta('pid', '4242').meta('mainThreadId', '1').meta('nodeVersion', 'v20.20.2')
    .meta('commandLine', JSON.stringify(['node', '/app/server.js'])).meta('startTimeUnixMs', '1700000000000')
    .meta('pageSize', '4096');
  capture.threadName(1, 'main').threadName(2, 'worker');
  const mainPc = capture.jsFunction('JS:~main /app/server.js:1:1', '/app/server.js', 1, 1);
  const loadPc = capture.jsFunction('JS:~load /app/server.js:10:3', '/app/server.js', 10, 3);
  const parsePc = capture.jsFunction('LazyCompile:*parse /app/server.js:20:5', '/app/server.js', 20, 5);
  const stacks = {
    load: capture.stack([mainPc, loadPc]),
    parse: capture.stack([mainPc, parsePc]),
    main: capture.stack([mainPc]),
  };
  capture.thread(1).time(0, 1000);
  return { capture, stacks };
}

export const MAIN = 'thread 1 (main)';
export const WORKER = 'thread 2 (worker)';
