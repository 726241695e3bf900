// Map- and string-heavy: string keys built by concatenation, Maps grown and dropped.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
let total = 0;
for (let round = 0; round < ROUNDS; round++) {
  const index = new Map();
  for (let i = 0; i < 80_000; i++) {
    const key = 'key:' + round + ':' + i.toString(16) + ':' + (i % 17 ? 'odd' : 'even');
    const entry = index.get(key.slice(0, 9));
    index.set(key, { n: i, label: key.toUpperCase(), parts: key.split(':') });
    if (entry) total += entry.n;
  }
  const words = [];
  for (const [key, value] of index) if (value.n % 5 === 0) words.push(key + '=' + value.label);
  total += words.join(',').length + index.size;
}
if (total === 0) throw new Error('empty');
