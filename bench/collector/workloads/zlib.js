// A synchronous gzip loop: zlib's deflate state (~270 KB of malloc per stream) and output buffers.
import { gzipSync, gunzipSync } from 'node:zlib';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 120);
const parts = [];
for (let i = 0; i < 12_000; i++) parts.push(`line ${i}: the quick brown fox ${i % 13} jumps over ${(i * 31) % 1000}\n`);
const input = Buffer.from(parts.join('')); // ~600 KB, compressible
let total = 0;
for (let round = 0; round < ROUNDS; round++) {
  const compressed = gzipSync(input.subarray(0, input.length - (round % 1000)), { level: round % 2 ? 6 : 1 });
  total += compressed.length;
  if (round % 10 === 0) total += gunzipSync(compressed).length;
}
if (total === 0) throw new Error('nothing compressed');
