// Small capture files with known answers for the CLI and static-viewer tests, written with the
// shared synthetic capture writer (docs/capture-format.md).
import { SyntheticCapture } from '../support/synthetic-capture.js';

export const MiB = 1024 * 1024;
export const xssFunction = '<img src=x onerror=alert(1)>';

/**
 * Thread 1 "main": main() → load() allocates 10 MiB at 5 ms (never freed); main() → parse()
 * allocates 4 MiB at 15 ms and frees it at 55 ms; a function named like an HTML injection allocates
 * 1 MiB at 25 ms (never freed). Peak: 15 MiB between 25 and 55 ms. Leaks: 11 MiB. Ends at 100 ms.
 * No event falls on a multiple of 10 ms, where a temporal report cuts the run.
 */
export function knownCapture(): Uint8Array {
  const capture = new SyntheticCapture();
  capture.meta('pid', '4242').meta('mainThreadId', '1').meta('nodeVersion', 'v20.20.2')
    .meta('commandLine', JSON.stringify(['node', '/app/server.js', '--token=<b>secret</b>'])).meta('startTimeUnixMs', '1700000000000')
    .meta('pageSize', '4096');
  capture.threadName(1, 'main');
  const mainPc = capture.jsFunction('JS:~main /app/server.js:1:1', '/app/server.js', 1, 1);
  const loadPc = capture.jsFunction('JS:~load /app/server.js:10:3', '/app/server.js', 10, 3);
  const parsePc = capture.jsFunction('JS:~parse /app/server.js:20:5', '/app/server.js', 20, 5);
  const xssPc = capture.jsFunction(`JS:~${xssFunction} /app/x.js:3:9`, '/app/x.js', 3, 9);
  const load = capture.stack([mainPc, loadPc]);
  const parse = capture.stack([mainPc, parsePc]);
  const xss = capture.stack([mainPc, xssPc]);
  const ms = 1_000_000;
  capture.thread(1).time(0, 20 * MiB);
  capture.time(5 * ms, 21 * MiB).alloc(0x100000, 10 * MiB, load);
  capture.time(15 * ms, 31 * MiB).alloc(0x2000000, 4 * MiB, parse);
  capture.time(25 * ms, 35 * MiB).alloc(0x4000000, 1 * MiB, xss);
  capture.time(55 * ms, 36 * MiB).free(0x2000000);
  capture.time(100 * ms, 32 * MiB);
  return capture.toBytes({ codec: 'lz4' });
}
