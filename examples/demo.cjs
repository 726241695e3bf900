// A small program for `npm run demo`: a cache that keeps growing (a leak), short-lived buffers
// (temporary allocations), compression on the libuv thread pool, and a worker thread.
const zlib = require('node:zlib');
const { Worker } = require('node:worker_threads');

const cache = new Map();

function remember(key) {
  // 64 KiB per entry, never evicted: this is what the leak view should point at.
  cache.set(key, Buffer.alloc(64 * 1024, key % 256));
}

function scratchWork(round) {
  // Allocated and dropped right away: temporary allocations.
  let checksum = 0;
  for (let i = 0; i < 200; i++) checksum += Buffer.allocUnsafe(4096 + i)[0] | 0;
  return checksum + round;
}

function compressReport(round) {
  return new Promise((done, fail) =>
    zlib.gzip(Buffer.alloc(256 * 1024, round), (error, result) => (error ? fail(error) : done(result))));
}

async function main() {
  for (let round = 0; round < 200; round++) {
    remember(round);
    scratchWork(round);
    if (round % 20 === 0) await compressReport(round);
  }
  await new Promise((done) => {
    const worker = new Worker(
      "const parts = []; for (let i = 0; i < 50; i++) parts.push(Buffer.alloc(128 * 1024)); require('node:worker_threads').parentPort.postMessage(parts.length);",
      { eval: true, name: 'builder' });
    worker.once('message', () => worker.terminate().then(done));
  });
  console.log(`demo: cached ${cache.size} entries`);
}

main();
