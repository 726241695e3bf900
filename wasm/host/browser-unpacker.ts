// A ChunkUnpacker on a nested Web Worker (browser-unpack-worker.ts), for the decoder's worker to
// use on large captures: another core checks and decompresses while the decoder aggregates.
import { RemoteUnpacker, type ChunkUnpacker, type UnpackReply } from './chunk-unpacker.js';
import UnpackWorker from './browser-unpack-worker.ts?worker&inline';

export function browserChunkUnpacker(module: WebAssembly.Module): ChunkUnpacker {
  const worker: Worker = new UnpackWorker();
  const unpacker = new RemoteUnpacker(
    (message, transfer) => worker.postMessage(message, transfer),
    async () => worker.terminate(),
  );
  worker.onmessage = (event: MessageEvent<UnpackReply>) => unpacker.receive(event.data);
  worker.onerror = (event) => unpacker.fail(new Error(`unpacking worker: ${event.message}`));
  worker.postMessage({ module });
  return unpacker;
}
