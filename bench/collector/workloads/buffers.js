// 200,000 Buffer.alloc calls of 4097..8192 bytes: each one is above the pool size, so it is a
// calloc of its own (plus V8's backing-store bookkeeping); most die young and are freed by GC.
const COUNT = Number(process.env.BENCH_COUNT ?? 200_000);
const keep = new Array(64);
let checksum = 0;
for (let i = 0; i < COUNT; i++) {
  const buffer = Buffer.alloc(4097 + ((i * 2654435761) % 4096));
  buffer[0] = i & 0xff;
  checksum += buffer.length;
  keep[i & 63] = buffer; // a small live set, so the heap does not stay empty
}
if (checksum === 0) console.log('unreachable');
