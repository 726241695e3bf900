// Diagnostic: what a capture file is made of. Counts the records by kind and by thread, the
// thread switches (THREAD records), the chunks and their stored vs decompressed sizes, so that a
// surprising file size or count can be explained. Used by bench/collector/run.js for the storm,
// and on its own: node bench/collector/capture-census.js capture.bin [...]
import { createReadStream, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const reader = (name) => import(pathToFileURL(join(root, 'dist', 'collector', 'lib', 'reader', name)).href);

export async function captureCensus(path) {
  const { ByteStream } = await reader('byte-stream.js');
  const { readCaptureHeader, readChunks } = await reader('chunk-reader.js');
  const { decodeRecords } = await reader('record-decoder.js');
  const { HeapBlockNames } = await reader('heap-block-names.js');
  const { ChunkKind } = await reader('format.js');
  const records = {};
  const perThread = new Map();
  let lastThread;
  let threadSwitches = 0;
  let chunks = 0;
  let payloadBytes = 0;
  const count = (kind) => { records[kind] = (records[kind] ?? 0) + 1; };
  const thread = (id) => {
    let figures = perThread.get(id);
    if (!figures) perThread.set(id, figures = { allocs: 0, frees: 0 });
    return figures;
  };
  const sink = new Proxy({}, {
    get: (_, name) => (...args) => {
      count(name);
      if (name === 'alloc' || name === 'realloc') thread(args[0]).allocs++;
      else if (name === 'free') thread(args[0]).frees++;
      else if (name === 'thread') {
        if (lastThread !== undefined && args[0] !== lastThread) threadSwitches++;
        lastThread = args[0];
      }
    },
  });
  const stream = new ByteStream(createReadStream(path, { highWaterMark: 1 << 20 }));
  await readCaptureHeader(stream);
  const blocks = new HeapBlockNames();
  for await (const chunk of readChunks(stream)) {
    chunks++;
    payloadBytes += chunk.payload.length;
    lastThread = undefined; // each chunk restarts its thread
    if (chunk.kind !== ChunkKind.Trailer) {
      try { decodeRecords(chunk.payload, sink, blocks); } catch { count('undecodable chunk'); }
    }
  }
  const fileBytes = statSync(path).size;
  return { fileBytes, chunks, payloadBytes, compression: payloadBytes / fileBytes, threadSwitches, records, threads: Object.fromEntries(perThread) };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const path of process.argv.slice(2)) console.log(path, JSON.stringify(await captureCensus(path), null, 1));
}
