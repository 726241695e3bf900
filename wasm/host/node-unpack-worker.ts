// The Node worker thread behind nodeChunkUnpacker: one engine instance that only checks and
// decompresses. Messages: {id, codec, stored, rawSize, checksum} → {id, status, raw}.
import { parentPort, workerData } from 'node:worker_threads';
import { answerUnpackRequest, type UnpackRequest } from './chunk-unpacker.js';
import { instantiateDecoder } from './decoder-instance.js';

const engine = await instantiateDecoder(workerData.module as WebAssembly.Module);

parentPort?.on('message', (request: UnpackRequest & { id: number }) => {
  const { reply, transfer } = answerUnpackRequest(engine, request);
  parentPort!.postMessage(reply, transfer);
});
