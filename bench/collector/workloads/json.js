// JSON.parse (and one stringify) of a ~4 MB document, repeated: strings, objects and arrays.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 12);
const records = [];
for (let i = 0; i < 20_000; i++) {
  records.push({
    id: i,
    name: `user-${i}-${(i * 7919).toString(36)}`,
    email: `person${i}@example.org`,
    tags: ['alpha', 'beta', 'gamma', String(i % 97)],
    score: i * 1.25,
    active: i % 3 === 0,
    address: { street: `${i} Main Street`, city: `City ${i % 500}`, zip: String(10000 + (i % 89999)) },
  });
}
const text = JSON.stringify({ generated: 'bench', records });
let total = 0;
for (let round = 0; round < ROUNDS; round++) {
  const document = JSON.parse(text);
  total += document.records.length;
}
if (total !== ROUNDS * records.length) throw new Error('bad parse');
