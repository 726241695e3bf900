// The decoder for Node (the CLI): decodes a capture file with the wasm engine in a worker thread,
// so the main thread stays free (progress bars, signals). From the TypeScript sources (tests),
// where no compiled worker exists, the same session runs in-process.
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CaptureModel } from '../../viewer/model/types.js';
import { CaptureError } from '../../collector/lib/reader/capture-error.js';
import { DecodeSession, type DecodeOptions } from './decode-session.js';
import { fileSource } from './node-file-source.js';
import { compiledDecoder } from './node-wasm.js';
import type { RangeViews } from './range-views.js';

export type { DecodeOptions } from './decode-session.js';

export type { RangeViews } from './range-views.js';

/** Decodes the capture at `path` into a CaptureModel. Throws CaptureError for a bad capture. */
export async function decodeCaptureFile(path: string, options: DecodeOptions = {}): Promise<CaptureModel> {
  const decoder = new NodeDecoder();
  try {
    return await decoder.decode(path, options);
  } finally {
    await decoder.close();
  }
}

/** A decoder that keeps its state after `decode`, for range queries over the same capture. */
export class NodeDecoder {
  private worker: Worker | undefined;
  private session: DecodeSession | undefined;
  private readonly useWorker: boolean;
  private pending: ((message: WorkerReply) => void) | undefined;

  constructor(options: { inProcess?: boolean } = {}) {
    this.useWorker = !options.inProcess && workerScript() !== undefined;
  }

  async decode(path: string, options: DecodeOptions = {}): Promise<CaptureModel> {
    if (!this.useWorker) {
      const { size } = await stat(path);
      this.session = await DecodeSession.create(await compiledDecoder());
      return this.session.decode(fileSource(path), size, options);
    }
    const reply = await this.request(
      { type: 'decode', path, temporaryThreshold: options.temporaryThreshold, parallelUnpack: options.parallelUnpack },
      options.onProgress,
    );
    return (reply as { model: CaptureModel }).model;
  }

  /** Peak within [t0Ms, t1Ms] and what was allocated in it and not freed by t1Ms. */
  async rangeViews(t0Ms: number, t1Ms: number): Promise<RangeViews> {
    if (!this.useWorker) {
      if (this.session === undefined) throw new Error('rangeViews before decode');
      return this.session.rangeViews(t0Ms, t1Ms);
    }
    const reply = await this.request({ type: 'rangeViews', t0Ms, t1Ms });
    return (reply as { views: RangeViews }).views;
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = undefined;
  }

  private request(message: object, onProgress?: (done: number, total: number) => void): Promise<WorkerReply> {
    const worker = (this.worker ??= this.startWorker());
    return new Promise((resolve, reject) => {
      this.pending = (reply) => {
        if (reply.type === 'progress') {
          onProgress?.(reply.done, reply.total);
          return;
        }
        this.pending = undefined;
        if (reply.type === 'error') reject(rebuildError(reply));
        else resolve(reply);
      };
      worker.postMessage(message);
    });
  }

  private startWorker(): Worker {
    const worker = new Worker(workerScript()!);
    worker.on('message', (reply: WorkerReply) => this.pending?.(reply));
    worker.on('error', (error) => this.pending?.({ type: 'error', name: error.name, message: error.message }));
    worker.on('exit', (code) => {
      if (this.pending) this.pending({ type: 'error', name: 'Error', message: `decoder worker exited with code ${code}` });
      this.worker = undefined;
    });
    return worker;
  }
}

type WorkerReply =
  | { type: 'progress'; done: number; total: number }
  | { type: 'model'; model: CaptureModel }
  | { type: 'rangeViews'; views: RangeViews }
  | { type: 'error'; name: string; message: string; offset?: number; chunk?: number };

function rebuildError(reply: { name: string; message: string; offset?: number; chunk?: number }): Error {
  if (reply.name === 'CaptureError') return new CaptureError(reply.message, reply.offset ?? 0, reply.chunk ?? -1);
  const error = new Error(reply.message);
  error.name = reply.name;
  return error;
}

/** The compiled worker beside this module, when running from the build output. */
function workerScript(): string | undefined {
  if (!import.meta.url.endsWith('.js')) return undefined;
  const path = fileURLToPath(new URL('./node-worker.js', import.meta.url));
  return existsSync(path) ? path : undefined;
}
