// worker_threads allocating in parallel: 2 workers, each with Buffers, strings and objects.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
if (isMainThread) {
  const ITERATIONS = Number(process.env.BENCH_COUNT ?? 100_000);
  const results = await Promise.all([0, 1].map((index) => new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { index, iterations: ITERATIONS, name: `alloc-${index}` } });
    worker.once('message', resolve);
    worker.once('error', reject);
  })));
  if (results.some((sum) => sum === 0)) throw new Error('worker did nothing');
} else {
  let sum = 0;
  const keep = new Array(128);
  for (let i = 0; i < workerData.iterations; i++) {
    const buffer = Buffer.alloc(4097 + (i % 2048));
    const text = `worker ${workerData.index} item ${i} ` + 'x'.repeat(i % 64);
    keep[i & 127] = { buffer, text, list: [i, i + 1, i + 2] };
    sum += buffer.length + text.length;
  }
  parentPort.postMessage(sum);
}
