// A made-up program with known answers for the reporting commands. Thread 1 "main" runs
// Module._load (node internals) → main → load / parse in /app/server.js; thread 2 "worker" runs work().
//   load   3 MiB kept to the end, and 1 MiB freed after the peak (one allocation in between)
//   parse  512 B kept, 64 B kept, 100 B freed at once (temporary)
//   work   2 KiB kept (thread 2)
import { SyntheticCapture } from '../support/synthetic-capture.js';

export const MiB = 1 << 20;

export const knownAnswers = {
  peak: { load: { bytes: 4 * MiB, count: 2 }, parse: { bytes: 576, count: 2 }, work: { bytes: 2048, count: 1 } },
  leaks: { load: { bytes: 3 * MiB, count: 1 }, parse: { bytes: 576, count: 2 }, work: { bytes: 2048, count: 1 } },
  temporary: { parse: { bytes: 100, count: 1 } },
  temporaryOf2: { load: { bytes: MiB, count: 1 }, parse: { bytes: 100, count: 1 } },
  allocated: { load: { bytes: 4 * MiB, count: 2 }, parse: { bytes: 676, count: 3 }, work: { bytes: 2048, count: 1 } },
};

export function knownCapture(): SyntheticCapture {
  const capture = new SyntheticCapture();
  capture.meta('pid', '4242').meta('mainThreadId', '1').meta('nodeVersion', 'v20.20.2')
    .meta('commandLine', JSON.stringify(['node', '/app/server.js'])).meta('startTimeUnixMs', '1700000000000')
    .meta('pageSize', '4096');
  capture.threadName(1, 'main').threadName(2, 'worker');
  const loaderPc = capture.jsFunction('JS:~Module._load node:internal/modules/cjs/loader:1003:24', 'node:internal/modules/cjs/loader', 1003, 24);
  const mainPc = capture.jsFunction('JS:~main /app/server.js:1:1', '/app/server.js', 1, 1);
  const loadPc = capture.jsFunction('JS:~load /app/server.js:10:3', '/app/server.js', 10, 3);
  const parsePc = capture.jsFunction('LazyCompile:*parse /app/server.js:20:5', '/app/server.js', 20, 5);
  const workPc = capture.jsFunction('JS:~work /app/worker.js:5:1', '/app/worker.js', 5, 1);
  const load = capture.stack([loaderPc, mainPc, loadPc]);
  const parse = capture.stack([loaderPc, mainPc, parsePc]);
  const work = capture.stack([workPc]);
  capture.thread(1).time(0, 1000)
    .alloc(0x1000, 3 * MiB, load)
    .alloc(0x2000, 512, parse).alloc(0x3000, 100, parse).free(0x3000);
  capture.thread(2).alloc(0x4000, 2048, work);
  capture.thread(1).alloc(0x5000, MiB, load).alloc(0x6000, 64, parse).time(1_000_000_000, 64 * MiB)
    .free(0x5000).time(1_500_000_000, 60 * MiB);
  return capture;
}
