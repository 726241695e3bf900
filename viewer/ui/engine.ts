// The browser decoding engine (wasm/host/browser-engine.ts, a Web Worker) when it is part of the
// build. Looked up with import.meta.glob so the viewer still builds without it.
import type { CaptureModel } from '../model/types.js';
import type { RangeViews } from './app.js';

export interface BrowserEngine {
  decode(file: Blob, onProgress: (fraction: number) => void): Promise<CaptureModel>;
  rangeViews(t0Ms: number, t1Ms: number): Promise<RangeViews>;
}

const modules = import.meta.glob('../../wasm/host/browser-engine.ts');

export async function loadBrowserEngine(): Promise<BrowserEngine | null> {
  const load = Object.values(modules)[0];
  if (!load) return null;
  const module = (await load()) as Record<string, unknown>;
  return adaptEngine(module);
}

function adaptEngine(module: Record<string, unknown>): BrowserEngine | null {
  void module;
  return null;
}
