// The Web Worker behind browser-engine.ts: decodes a File/Blob with the wasm engine, reading it in
// slices of a few MB (a 20 GB capture never has to fit in memory), and keeps the decode session
// so range queries are answered without re-reading the file. Bundled by Vite (worker format
// iife), with the engine's .wasm inlined into the bundle.
import * as Comlink from 'comlink';
import decoderWasmUrl from '../build/decoder.wasm?url&inline';
import type { CaptureModel } from '../../viewer/model/types.js';
import { DecodeSession, type DecodeOptions } from './decode-session.js';
import type { RangeViews } from './range-views.js';
import { modelTransferList } from './transfer-list.js';
import { PARALLEL_UNPACK_MIN_BYTES } from './chunk-unpacker.js';
import { browserChunkUnpacker } from './browser-unpacker.js';

const BLOB_SLICE_BYTES = 4 << 20;

let compiled: Promise<WebAssembly.Module> | undefined;
let session: DecodeSession | undefined;

async function* blobSlices(blob: Blob): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < blob.size; offset += BLOB_SLICE_BYTES) {
    yield new Uint8Array(await blob.slice(offset, offset + BLOB_SLICE_BYTES).arrayBuffer());
  }
}

export const decoderWorkerApi = {
  async decode(blob: Blob, options: Omit<DecodeOptions, 'onProgress'>, onProgress?: (done: number, total: number) => void): Promise<CaptureModel> {
    compiled ??= fetch(decoderWasmUrl).then((response) => response.arrayBuffer()).then((bytes) => WebAssembly.compile(bytes));
    session = await DecodeSession.create(await compiled);
    const parallel = options.parallelUnpack ?? blob.size >= PARALLEL_UNPACK_MIN_BYTES;
    const unpacker = parallel ? browserChunkUnpacker(await compiled) : undefined;
    let lastReport = 0;
    const model = await session
      .decode(blobSlices(blob), blob.size, {
        ...options,
        unpacker,
        onProgress: onProgress && ((done, total) => {
          const now = Date.now();
          if (now - lastReport < 50 && done < total) return;
          lastReport = now;
          void onProgress(done, total);
        }),
      })
      .finally(() => unpacker?.close());
    return Comlink.transfer(model, modelTransferList(model));
  },

  rangeViews(t0Ms: number, t1Ms: number): RangeViews {
    if (session === undefined) throw new Error('rangeViews before decode');
    return session.rangeViews(t0Ms, t1Ms);
  },
};

export type DecoderWorkerApi = typeof decoderWorkerApi;

Comlink.expose(decoderWorkerApi);
