// Allocation storm: 2,000,000 `new ArrayBuffer(100)`. Each is a calloc of 100 bytes plus V8's
// backing-store bookkeeping (operator new) and the matching frees: ~8M allocator calls, almost
// no other work, so the traced/untraced ratio is the per-event cost of the hook.
const COUNT = Number(process.env.BENCH_COUNT ?? 2_000_000);
let sum = 0;
for (let i = 0; i < COUNT; i++) {
  const buffer = new ArrayBuffer(100);
  sum += buffer.byteLength;
}
if (sum !== COUNT * 100) throw new Error('bad sum');
