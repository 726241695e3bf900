// A ChunkUnpacker on a Node worker thread (node-unpack-worker.ts), for the decoder worker to use
// on large captures: the second core checks and decompresses while the first aggregates.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ChunkUnpacker, UnpackRequest, UnpackResult } from './chunk-unpacker.js';

export class NodeChunkUnpacker implements ChunkUnpacker {
  private readonly worker: Worker;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (result: UnpackResult) => void; reject: (error: Error) => void }>();

  constructor(module: WebAssembly.Module, script: string) {
    this.worker = new Worker(script, { workerData: { module } });
    this.worker.on('message', (reply: { id: number; status?: number; raw?: Uint8Array; failure?: string }) => {
      const waiter = this.waiting.get(reply.id);
      if (waiter === undefined) return;
      this.waiting.delete(reply.id);
      if (reply.failure !== undefined) waiter.reject(new Error(`unpacking worker: ${reply.failure}`));
      else waiter.resolve({ status: reply.status!, raw: reply.raw! });
    });
    const failAll = (error: Error) => {
      for (const waiter of this.waiting.values()) waiter.reject(error);
      this.waiting.clear();
    };
    this.worker.on('error', failAll);
    this.worker.on('exit', (code) => failAll(new Error(`unpacking worker exited with code ${code}`)));
  }

  unpack(request: UnpackRequest): Promise<UnpackResult> {
    const id = this.nextId++;
    // A copy (not Buffer#slice, which is a view): the stored bytes share their ArrayBuffer with the
    // rest of the file piece, and this one is transferred.
    const stored = new Uint8Array(request.stored);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, codec: request.codec, stored, rawSize: request.rawSize, checksum: request.checksum }, [stored.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

/** The compiled unpacking worker beside this module, when running from the build output. */
export function unpackWorkerScript(): string | undefined {
  if (!import.meta.url.endsWith('.js')) return undefined;
  const path = fileURLToPath(new URL('./node-unpack-worker.js', import.meta.url));
  return existsSync(path) ? path : undefined;
}
