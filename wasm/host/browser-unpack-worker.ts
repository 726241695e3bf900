// The Web Worker behind browserChunkUnpacker, started by the decoder's own worker: one engine
// instance that only checks and decompresses. The first message carries the compiled engine;
// then {id, codec, stored, rawSize, checksum} → {id, status, raw}.
import { answerUnpackRequest, type UnpackRequest } from './chunk-unpacker.js';
import { instantiateDecoder, type DecoderExports } from './decoder-instance.js';

let engine: Promise<DecoderExports> | undefined;

self.onmessage = async (event: MessageEvent<{ module: WebAssembly.Module } | (UnpackRequest & { id: number })>) => {
  const message = event.data;
  if ('module' in message) {
    engine = instantiateDecoder(message.module);
    return;
  }
  const { reply, transfer } = answerUnpackRequest(await engine!, message);
  (self as unknown as Worker).postMessage(reply, transfer);
};
