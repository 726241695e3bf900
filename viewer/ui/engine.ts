// The browser decoding engine (wasm/host/browser-engine.ts: the wasm decoder in a Web Worker,
// inlined into the page by Vite). Looked up with import.meta.glob so the viewer still builds
// without it.
import type { CaptureModel } from '../model/types.js';
import type { RangeViews } from './app.js';

export interface BrowserEngine {
  decode(file: Blob, onProgress: (fraction: number) => void): Promise<CaptureModel>;
  rangeViews(t0Ms: number, t1Ms: number): Promise<RangeViews>;
}

interface BrowserDecoderModule {
  createBrowserDecoder(): {
    decode(blob: Blob, options?: object, onProgress?: (done: number, total: number) => void): Promise<CaptureModel>;
    rangeViews(t0Ms: number, t1Ms: number): Promise<RangeViews>;
  };
}

const modules = import.meta.glob<BrowserDecoderModule>('../../wasm/host/browser-engine.ts');

export async function loadBrowserEngine(): Promise<BrowserEngine | null> {
  const load = Object.values(modules)[0];
  if (!load) return null;
  const module = await load();
  if (typeof module.createBrowserDecoder !== 'function') return null;
  const decoder = module.createBrowserDecoder();
  return {
    decode: (file, onProgress) => decoder.decode(file, {}, (done, total) => onProgress(total > 0 ? done / total : 0)),
    rangeViews: (t0Ms, t1Ms) => decoder.rangeViews(t0Ms, t1Ms),
  };
}
