// The decoder for the browser viewer: the wasm engine in a Web Worker, behind comlink. The worker
// keeps its state after `decode`, so `rangeViews` answers time-range questions without re-reading
// the file. Vite bundles the worker and inlines it (`?worker&inline`), so a single-file page
// served from file:// can start it.
import * as Comlink from 'comlink';
import type { CaptureModel } from '../../viewer/model/types.js';
import type { DecodeOptions } from './decode-session.js';
import type { RangeViews } from './range-views.js';
import type { DecoderWorkerApi } from './browser-worker.js';
import DecoderWorker from './browser-worker.ts?worker&inline';

export type { RangeViews } from './range-views.js';

export interface BrowserDecoder {
  /** Decodes a capture file; onProgress gets bytes done and the file's size. */
  decode(blob: Blob, options?: Omit<DecodeOptions, 'onProgress'>, onProgress?: (done: number, total: number) => void): Promise<CaptureModel>;
  /** Peak within [t0Ms, t1Ms] and what was allocated in it and still live at t1Ms, per call-tree node. */
  rangeViews(t0Ms: number, t1Ms: number): Promise<RangeViews>;
  /** Stops the worker. */
  terminate(): void;
}

export function createBrowserDecoder(): BrowserDecoder {
  const worker: Worker = new DecoderWorker();
  const remote = Comlink.wrap<DecoderWorkerApi>(worker);
  return {
    decode: (blob, options = {}, onProgress) =>
      remote.decode(blob, options, onProgress ? Comlink.proxy(onProgress) : undefined),
    rangeViews: (t0Ms, t1Ms) => remote.rangeViews(t0Ms, t1Ms),
    terminate: () => worker.terminate(),
  };
}
