// A ChunkUnpacker on a Node worker thread (node-unpack-worker.ts), for the decoder worker to use
// on large captures: the second core checks and decompresses while the first aggregates.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { RemoteUnpacker, type ChunkUnpacker, type UnpackReply } from './chunk-unpacker.js';

export function nodeChunkUnpacker(module: WebAssembly.Module, script: string): ChunkUnpacker {
  const worker = new Worker(script, { workerData: { module } });
  const unpacker = new RemoteUnpacker(
    (message, transfer) => worker.postMessage(message, transfer),
    async () => {
      worker.removeAllListeners('exit');
      await worker.terminate();
    },
  );
  worker.on('message', (reply: UnpackReply) => unpacker.receive(reply));
  worker.on('error', (error) => unpacker.fail(error));
  worker.on('exit', (code) => unpacker.fail(new Error(`unpacking worker exited with code ${code}`)));
  return unpacker;
}

/** The compiled unpacking worker beside this module, when running from the build output. */
export function unpackWorkerScript(): string | undefined {
  if (!import.meta.url.endsWith('.js')) return undefined;
  const path = fileURLToPath(new URL('./node-unpack-worker.js', import.meta.url));
  return existsSync(path) ? path : undefined;
}
