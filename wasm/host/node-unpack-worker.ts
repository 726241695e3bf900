// The Node worker thread behind NodeChunkUnpacker: one engine instance that only checks and
// decompresses. Messages: {id, codec, stored, rawSize, checksum} → {id, status, raw}.
import { parentPort, workerData } from 'node:worker_threads';
import { instantiateDecoder } from './decoder-instance.js';
import { unpackWith, type UnpackRequest } from './chunk-unpacker.js';

const engine = await instantiateDecoder(workerData.module as WebAssembly.Module);

parentPort?.on('message', (message: UnpackRequest & { id: number }) => {
  try {
    const result = unpackWith(engine, message);
    parentPort!.postMessage({ id: message.id, status: result.status, raw: result.raw }, result.raw.length > 0 ? [result.raw.buffer as ArrayBuffer] : []);
  } catch (error) {
    parentPort!.postMessage({ id: message.id, failure: (error as Error).message });
  }
});
