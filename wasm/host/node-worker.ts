// The Node worker thread behind decodeCaptureFile: decodes one capture per request and keeps the
// session so later range queries need no re-read. Messages: {type:'decode', path, temporaryThreshold}
// → {type:'progress', done, total}* then {type:'model', model} or {type:'error', ...};
// {type:'rangeViews', t0Ms, t1Ms} → {type:'rangeViews', views} or {type:'error', ...}.
import { parentPort } from 'node:worker_threads';
import { stat } from 'node:fs/promises';
import { DecodeSession } from './decode-session.js';
import { compiledDecoder } from './node-wasm.js';
import { fileSource } from './node-file-source.js';
import { modelTransferList } from './transfer-list.js';
import { PARALLEL_UNPACK_MIN_BYTES } from './chunk-unpacker.js';
import { nodeChunkUnpacker, unpackWorkerScript } from './node-unpacker.js';



let session: DecodeSession | undefined;

parentPort?.on('message', async (message: { type: string; path?: string; temporaryThreshold?: number; parallelUnpack?: boolean; t0Ms?: number; t1Ms?: number }) => {
  try {
    if (message.type === 'decode') {
      const path = message.path!;
      const { size } = await stat(path);
      session = await DecodeSession.create(await compiledDecoder());
      const script = unpackWorkerScript();
      const parallel = message.parallelUnpack ?? size >= PARALLEL_UNPACK_MIN_BYTES;
      const unpacker = parallel && script ? nodeChunkUnpacker(await compiledDecoder(), script) : undefined;
      let lastReport = 0;
      const model = await session
        .decode(fileSource(path), size, {
          temporaryThreshold: message.temporaryThreshold,
          unpacker,
          onProgress: (done, total) => {
            const now = Date.now();
            if (now - lastReport < 50 && done < total) return;
            lastReport = now;
            parentPort!.postMessage({ type: 'progress', done, total });
          },
        })
        .finally(() => unpacker?.close());
      parentPort!.postMessage({ type: 'model', model }, modelTransferList(model));
    } else if (message.type === 'rangeViews') {
      if (session === undefined) throw new Error('rangeViews before decode');
      const views = session.rangeViews(message.t0Ms!, message.t1Ms!);
      parentPort!.postMessage({ type: 'rangeViews', views });
    }
  } catch (error) {
    const err = error as Error & { offset?: number; chunk?: number };
    parentPort!.postMessage({ type: 'error', name: err.name, message: err.message, offset: err.offset, chunk: err.chunk });
  }
});
