// Where the compiled engine is on disk, from the TypeScript sources (wasm/host/) or from the
// build output (dist/wasm/host/), compiled once per process.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CANDIDATES = ['../build/decoder.wasm', '../../../wasm/build/decoder.wasm'];

let compiled: Promise<WebAssembly.Module> | undefined;

export function decoderWasmPath(): string {
  for (const candidate of CANDIDATES) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error('wasm/build/decoder.wasm is missing: run `npm run build:wasm`');
}

export function compiledDecoder(): Promise<WebAssembly.Module> {
  compiled ??= readFile(decoderWasmPath()).then((bytes) => WebAssembly.compile(bytes));
  return compiled;
}
