// A multi-GB capture, decoded from disk by the Node host (worker thread, 4 MB reads): throughput
// and peak RSS, to show memory follows the live set and not the file size. The capture is
// generated once into bench/out/ (git-ignored). Needs `npm run build:ts` and `npm run build:wasm`.
//   node bench/decoder/big-capture-bench.mjs [--gb 2] [--parallel-unpack on|off]
// --parallel-unpack off decodes with one worker; on (the default for files this big) adds the
// second worker that checks and decompresses chunks ahead of the aggregating one.
import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CaptureWriter, FORMAT_VERSION, writeWorkload } from './synthetic-events.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const gbArgument = process.argv.indexOf('--gb');
const targetGB = gbArgument > 0 ? Number(process.argv[gbArgument + 1]) : 2;
const parallelArgument = process.argv.indexOf('--parallel-unpack');
const parallelUnpack = parallelArgument > 0 ? process.argv[parallelArgument + 1] !== 'off' : true;
const path = `${root}bench/out/decoder-big-${targetGB}gb.bin`;
const LIVE = 1 << 18;
// About 7.4 bytes per event (a FREE names its block by ordinal, 2-3 bytes; the random addresses of
// new blocks, 5-6 bytes each, are most of the rest).
const pairs = Math.round((targetGB * 1e9) / 14.9);

/** Whether a capture generated earlier follows the current format (the u16 at byte 8 of the header). */
function currentVersion(file) {
  const header = Buffer.alloc(16);
  const fd = openSync(file, 'r');
  readSync(fd, header, 0, 16, 0);
  closeSync(fd);
  return header.readUInt16LE(8) === FORMAT_VERSION;
}

if (!existsSync(path) || !currentVersion(path)) {
  mkdirSync(`${root}bench/out`, { recursive: true });
  const started = Date.now();
  const fd = openSync(`${path}.partial`, 'w');
  const writer = new CaptureWriter((chunk) => writeSync(fd, chunk));
  writeWorkload(writer, { live: LIVE, pairs, randomAddresses: true, stackCount: 2000, seed: 9 });
  closeSync(fd);
  const { renameSync } = await import('node:fs');
  renameSync(`${path}.partial`, path);
  console.log(`wrote ${path}: ${writer.events.toLocaleString('en')} events in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

const engine = await import(`${root}dist/wasm/host/node-engine.js`);
const sizeBytes = statSync(path).size;
const started = process.hrtime.bigint();
let lastShown = 0;
const model = await engine.decodeCaptureFile(path, {
  parallelUnpack,
  onProgress: (done, total) => {
    if (done - lastShown > total / 10) {
      lastShown = done;
      process.stdout.write(`${Math.round((done / total) * 100)}% `);
    }
  },
});
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const events = model.stats.totalAllocations * 2 - LIVE;
const maxRssMB = process.resourceUsage().maxRSS / 1024;
console.log(`\n${parallelUnpack ? 'two workers' : 'one worker'}: ${(sizeBytes / 1e9).toFixed(2)} GB, ~${(events / 1e6).toFixed(0)} M events in ${seconds.toFixed(1)} s: `
  + `${(sizeBytes / 1e6 / seconds).toFixed(0)} MB/s, ${(events / seconds / 1e6).toFixed(1)} M events/s; peak RSS ${maxRssMB.toFixed(0)} MB; `
  + `leaks ${model.stats.leakedAllocations.toLocaleString('en')} blocks`);
console.log(JSON.stringify({ parallelUnpack, sizeGB: sizeBytes / 1e9, events, seconds, eventsPerS: events / seconds, MBPerS: sizeBytes / 1e6 / seconds, maxRssMB }));
