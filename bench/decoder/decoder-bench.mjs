// Decoder engine benchmarks: events/s of the decode+aggregate loop (a cache-resident live set;
// 1M live allocations at random addresses) and chunk decompression MB/s (DEFLATE, LZ4), measured on the
// compiled engine (wasm/build/decoder.wasm) driven as the host drives it: chunk payload copied
// into wasm memory, checksum, decode in 2 MiB steps, outbox drained. Usage:
//   node bench/decoder/decoder-bench.mjs [--quick] [--write-results]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { CaptureWriter, writeWorkload } from './synthetic-events.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const quick = process.argv.includes('--quick');
const STEP_BUDGET_BYTES = 2 << 20;

async function instantiate() {
  const bytes = readFileSync(`${root}wasm/build/decoder.wasm`);
  const { instance } = await WebAssembly.instantiate(bytes, {
    env: { abort: () => { throw new Error('engine abort'); } },
  });
  return instance.exports;
}

function buildCapture(workload) {
  const chunks = [];
  const writer = new CaptureWriter((chunk) => chunks.push(chunk.slice()));
  writeWorkload(writer, workload);
  return { chunks, events: writer.events, bytes: chunks.reduce((sum, chunk) => sum + chunk.length, 0) };
}

/** Wall and CPU seconds `work` takes. */
function timed(work) {
  const started = process.hrtime.bigint();
  const cpuStarted = process.cpuUsage();
  work();
  const cpu = process.cpuUsage(cpuStarted);
  return { wall: Number(process.hrtime.bigint() - started) / 1e9, cpu: (cpu.user + cpu.system) / 1e6 };
}

/** Decodes the chunk the engine has begun, in steps of a few MB as the hosts do. */
function stepThroughChunk(engine) {
  for (;;) {
    const status = engine.step(STEP_BUDGET_BYTES);
    engine.outboxReset();
    if (status === 0) break;
    if (status < 0) throw new Error(`engine error ${status}`);
  }
}

/** Decodes the chunks with a fresh engine instance; returns wall and CPU seconds spent. */
function decode(engine, chunks) {
  engine.init(1);
  return timed(() => {
    for (let i = 1; i < chunks.length; i++) {
      const chunk = chunks[i];
      const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      const kind = chunk[4];
      const storedSize = view.getUint32(8, true);
      const rawSize = view.getUint32(12, true);
      const checksum = view.getUint32(16, true);
      const input = engine.inputBuffer(storedSize) >>> 0;
      new Uint8Array(engine.memory.buffer, input, storedSize).set(chunk.subarray(24));
      if (kind === 2) continue;
      if (engine.beginChunk(chunk[5], storedSize, rawSize, checksum) !== 0) throw new Error('beginChunk failed');
      stepThroughChunk(engine);
    }
    engine.finish();
  });
}

/**
 * The payloads as the unpacking worker hands them over (checksum verified, LZ4 decompressed), done
 * beforehand by a second engine instance; decodeUnpacked then times what the aggregating worker
 * does with them.
 */
async function unpackAll(chunks) {
  const unpacker = await instantiate();
  unpacker.init(1);
  const raws = [];
  for (let i = 1; i < chunks.length; i++) {
    const chunk = chunks[i];
    if (chunk[4] === 2) continue;
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const storedSize = view.getUint32(8, true);
    const rawSize = view.getUint32(12, true);
    const input = unpacker.inputBuffer(storedSize) >>> 0;
    new Uint8Array(unpacker.memory.buffer, input, storedSize).set(chunk.subarray(24));
    if (unpacker.unpackInput(chunk[5], storedSize, rawSize, view.getUint32(16, true)) !== 0) throw new Error('unpack failed');
    const from = chunk[5] === 0 ? input : unpacker.rawPointer() >>> 0;
    raws.push(new Uint8Array(unpacker.memory.buffer, from, rawSize).slice());
  }
  return raws;
}

function decodeUnpacked(engine, raws) {
  engine.init(1);
  return timed(() => {
    for (const raw of raws) {
      const input = engine.inputBuffer(raw.length) >>> 0;
      new Uint8Array(engine.memory.buffer, input, raw.length).set(raw);
      engine.beginUnpackedChunk(raw.length);
      stepThroughChunk(engine);
    }
    engine.finish();
  });
}

async function eventsPerSecond(name, workload, runs, { unpacked = false } = {}) {
  const capture = buildCapture(workload);
  const raws = unpacked ? await unpackAll(capture.chunks) : undefined;
  const times = [];
  for (let run = 0; run < runs; run++) {
    const engine = await instantiate(); // fresh memory each run: the live table grows from empty
    times.push(unpacked ? decodeUnpacked(engine, raws) : decode(engine, capture.chunks));
  }
  const best = Math.min(...times.map((t) => t.wall));
  const bestCpu = Math.min(...times.map((t) => t.cpu));
  const result = {
    name,
    events: capture.events,
    captureMB: capture.bytes / 1e6,
    firstRunMEventsPerS: capture.events / times[0].wall / 1e6,
    bestMEventsPerS: capture.events / best / 1e6,
    bestMEventsPerCpuS: capture.events / bestCpu / 1e6,
    bestMBPerS: capture.bytes / best / 1e6,
  };
  console.log(`${name}: ${capture.events.toLocaleString()} events, ${result.captureMB.toFixed(0)} MB: `
    + `best ${result.bestMEventsPerS.toFixed(1)} M events/s wall (${result.bestMBPerS.toFixed(0)} MB/s), `
    + `${result.bestMEventsPerCpuS.toFixed(1)} M events per CPU-second, first run ${result.firstRunMEventsPerS.toFixed(1)} M events/s`);
  return result;
}

/** Decompression MB/s of data compressed by the `lz4` tool (as LZ4 blocks of up to 4 MB). */
async function lz4MegabytesPerSecond(name, data, runs) {
  const frame = new Uint8Array(execFileSync('/usr/bin/lz4', ['-q', '-B7', '-BI', '--no-frame-crc', '-c'],
    { input: data, maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'ignore'] }));
  return timeDecompression(`LZ4 ${name}`, lz4Blocks(frame).map((block) => ({ codec: 1, block, rawCapacity: 4 << 20 })), data.length, frame.length, runs);
}

/** Decompression MB/s of data compressed by zlib (raw DEFLATE, default level, 4 MB pieces). */
async function deflateMegabytesPerSecond(name, data, runs) {
  const blocks = [];
  let storedBytes = 0;
  for (let at = 0; at < data.length; at += 4 << 20) {
    const block = deflateRawSync(data.subarray(at, at + (4 << 20)));
    blocks.push({ codec: 2, block, rawCapacity: 4 << 20 });
    storedBytes += block.length;
  }
  return timeDecompression(`DEFLATE ${name}`, blocks, data.length, storedBytes, runs);
}

/**
 * Decompression MB/s of the chunks of a capture written by the collector on the storm workload:
 * real records, compressed by memview's own compressor (DEFLATE since format 5). Synthetic records would not
 * do here: they are random where a program's are repetitive, and do not compress at all.
 */
async function captureChunksMegabytesPerSecond(runs) {
  mkdirSync(`${root}bench/out`, { recursive: true });
  const capturePath = `${root}bench/out/sample-storm.bin`;
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS; // node would make ~440k more allocations at start-up
  const run = spawnSync(process.execPath, [`${root}bin/memview.cjs`, 'run', '-q', '-f', '-o', capturePath, `${root}bench/collector/workloads/storm.js`],
    { stdio: 'ignore', env });
  if (run.status !== 0 || !existsSync(capturePath)) {
    console.error('capture chunks: skipped (the collector is not built, or tracing the storm failed)');
    return undefined;
  }
  const file = readFileSync(capturePath);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const blocks = [];
  let rawBytes = 0;
  let storedBytes = 0;
  for (let at = 16; at + 24 <= file.length;) {
    const storedSize = view.getUint32(at + 8, true);
    const rawSize = view.getUint32(at + 12, true);
    if (file[at + 5] !== 0) {
      blocks.push({ codec: file[at + 5], block: file.subarray(at + 24, at + 24 + storedSize), rawCapacity: rawSize });
      rawBytes += rawSize;
      storedBytes += storedSize;
    }
    at += 24 + storedSize;
  }
  const codecs = new Set(blocks.map((block) => block.codec));
  return timeDecompression(`${codecs.has(1) ? 'LZ4' : 'DEFLATE'} capture chunks (storm, as the collector wrote them)`, blocks, rawBytes, storedBytes, runs);
}

async function timeDecompression(name, blocks, rawBytes, storedBytes, runs) {
  const engine = await instantiate();
  engine.init(1);
  let best = Infinity;
  let outputBytes = 0;
  for (let run = 0; run < runs; run++) {
    outputBytes = 0;
    let seconds = 0;
    for (const { codec, block, rawCapacity } of blocks) {
      const input = engine.inputBuffer(block.length) >>> 0;
      new Uint8Array(engine.memory.buffer, input, block.length).set(block);
      const started = process.hrtime.bigint();
      const written = codec === 2 ? engine.inflateInput(block.length, rawCapacity) : engine.lz4DecompressInput(block.length, rawCapacity);
      seconds += Number(process.hrtime.bigint() - started) / 1e9;
      if (written < 0) throw new Error(`${name}: decompression failed`);
      outputBytes += written;
    }
    best = Math.min(best, seconds);
  }
  const result = { name, inputMB: rawBytes / 1e6, ratio: rawBytes / storedBytes, MBPerS: outputBytes / best / 1e6 };
  console.log(`${name}: ${result.inputMB.toFixed(0)} MB, ratio ${result.ratio.toFixed(2)}: ${result.MBPerS.toFixed(0)} MB/s decompressed`);
  return result;
}

function lz4Blocks(frame) {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const flags = frame[4];
  let at = 6 + ((flags & 0x08) ? 8 : 0) + ((flags & 0x01) ? 4 : 0) + 1;
  const blocks = [];
  for (;;) {
    const size = view.getUint32(at, true);
    at += 4;
    if (size === 0) break;
    if ((size & 0x80000000) === 0) blocks.push(frame.subarray(at, at + size));
    at += (size & 0x7fffffff) + ((flags & 0x10) ? 4 : 0);
  }
  return blocks;
}

const runs = quick ? 2 : 4;
const results = [];
results.push(await eventsPerSecond('cache-resident live set (4096 live, 200 stacks)',
  { live: 4096, pairs: quick ? 5e6 : 25e6, randomAddresses: false, stackCount: 200, seed: 1 }, runs));
results.push(await eventsPerSecond('1M live allocations at random addresses',
  { live: 1 << 20, pairs: quick ? 4e6 : 12e6, randomAddresses: true, stackCount: 5000, seed: 2 }, runs));
// The aggregating worker's own loop when a second worker checks and decompresses the chunks.
results.push(await eventsPerSecond('cache-resident, aggregating worker only (checksum and decompression on the unpacking worker)',
  { live: 4096, pairs: quick ? 5e6 : 25e6, randomAddresses: false, stackCount: 200, seed: 1 }, runs, { unpacked: true }));
results.push(await eventsPerSecond('1M random live, aggregating worker only (checksum and decompression on the unpacking worker)',
  { live: 1 << 20, pairs: quick ? 4e6 : 12e6, randomAddresses: true, stackCount: 5000, seed: 2 }, runs, { unpacked: true }));
// The same with 200 stacks: how much of the random case is the per-site lines and leak tuples of
// 5,000 sites rather than the live records themselves.
results.push(await eventsPerSecond('1M random live, 200 stacks, aggregating worker only',
  { live: 1 << 20, pairs: quick ? 4e6 : 12e6, randomAddresses: true, stackCount: 200, seed: 2 }, runs, { unpacked: true }));

const nodeBinary = new Uint8Array(readFileSync(process.execPath)).subarray(0, 64 << 20);
const decompressionResults = [
  await captureChunksMegabytesPerSecond(runs),
  await deflateMegabytesPerSecond('node binary', nodeBinary, runs),
  await lz4MegabytesPerSecond('node binary', nodeBinary, runs),
].filter(Boolean);

if (process.argv.includes('--write-results')) {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const lines = [
    '# Decoder engine benchmark results',
    '',
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpu} (${os.cpus().length} cores), `
      + `Node ${process.version}, one core, by \`node bench/decoder/decoder-bench.mjs --write-results\`; `
      + `load average during the run ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (the machine was shared).`,
    'Events are ALLOC/FREE records; the loop includes copying each chunk into wasm memory, the FNV-1a checksum, '
      + 'decoding in 2 MiB steps, every accumulator, and draining the outbox. The "aggregating worker only" rows time '
      + 'the same from payloads already checked and decompressed, as the CLI and the viewer do with two workers.',
    '',
    '| workload | events | capture MB | best M events/s (wall) | M events per CPU-second | first run M events/s | MB/s (wall) |',
    '|---|---|---|---|---|---|---|',
    ...results.map((r) => `| ${r.name} | ${r.events.toLocaleString('en')} | ${r.captureMB.toFixed(0)} | ${r.bestMEventsPerS.toFixed(1)} | ${r.bestMEventsPerCpuS.toFixed(1)} | ${r.firstRunMEventsPerS.toFixed(1)} | ${r.bestMBPerS.toFixed(0)} |`),
    '',
    '| decompression | input MB | ratio | MB/s (decompressed) |',
    '|---|---|---|---|',
    ...decompressionResults.map((r) => `| ${r.name} | ${r.inputMB.toFixed(0)} | ${r.ratio.toFixed(2)} | ${r.MBPerS.toFixed(0)} |`),
    '',
  ];
  // Keep any section below the tables (e.g. the big-capture figures) when rewriting them.
  const resultsPath = `${root}bench/decoder/RESULTS.md`;
  const previous = existsSync(resultsPath) ? readFileSync(resultsPath, 'utf8') : '';
  const kept = previous.includes('\n## ') ? previous.slice(previous.indexOf('\n## ')) : '';
  writeFileSync(resultsPath, lines.join('\n') + kept);
}
