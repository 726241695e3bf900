// Debug files by build id from debuginfod servers (the protocol of elfutils' debuginfod, which
// Debian, Ubuntu, Fedora and Arch run: GET <server>/buildid/<hex build id>/debuginfo), for
// `memview symbolize` when DEBUGINFOD_URLS names servers, as gdb and perf do. Files are kept in a
// cache laid out as a debug directory (<cache>/.build-id/ab/cdef....debug), which the symbols addon
// searches like /usr/lib/debug.
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';

export interface DebuginfodOptions {
  /** Server base URLs (DEBUGINFOD_URLS is a space-separated list of them). */
  servers: string[];
  /** A debug directory: fetched files go to its .build-id tree. */
  cacheDirectory: string;
  /** The build id of an ELF file, empty when it has none or is no ELF file (the symbols addon's). */
  buildIdOf: (path: string) => Uint8Array;
  /** A server that sends nothing for this long is given up on (a slow download is not). */
  silenceMs?: number;
  /** Larger answers are not debug files anyone should wait for. */
  maxBytes?: number;
  /** Told of each fetch and its outcome. */
  report?: (message: string) => void;
}

class CacheError extends Error {}

/**
 * A fetcher for killed-capture.ts: brings the debug file of `buildId` into the cache; true when it
 * is there now (fetched now, or on an earlier run). What a server sends is kept only if it is an
 * ELF file with that build id: a captive portal's page or another build's file is dropped, and the
 * next server is asked.
 */
export function debuginfodFetcher({
  servers, cacheDirectory, buildIdOf, silenceMs = 30_000, maxBytes = 4 * 2 ** 30, report,
}: DebuginfodOptions) {
  return async (buildId: Uint8Array, objectPath: string): Promise<boolean> => {
    const hex = Buffer.from(buildId).toString('hex');
    const target = join(cacheDirectory, '.build-id', hex.slice(0, 2), `${hex.slice(2)}.debug`);
    if (Buffer.from(buildIdOf(target)).toString('hex') === hex) return true;
    report?.(`fetching the debug file of ${objectPath} from debuginfod`);
    const problems: string[] = [];
    const partial = `${target}.${process.pid}.part`;
    try {
      for (const server of servers) {
        try {
          const bytes = await download(`${server.replace(/\/+$/, '')}/buildid/${hex}/debuginfo`, partial, silenceMs, maxBytes);
          if (Buffer.from(buildIdOf(partial)).toString('hex') !== hex) {
            problems.push(`${server}: not the debug file of that build`);
            continue;
          }
          await rename(partial, target);
          report?.(`fetched the debug file of ${objectPath} (${(bytes / 2 ** 20).toFixed(1)} MiB) from ${server}`);
          return true;
        } catch (error) {
          if (error instanceof CacheError) throw error;
          const cause = (error as { cause?: Error }).cause?.message;
          problems.push(`${server}: ${(error as Error).message}${cause ? ` (${cause})` : ''}`);
        }
      }
      report?.(`no debug file of ${objectPath} (build id ${hex}) from debuginfod: ${problems.join('; ')}`);
      return false;
    } catch (error) {
      report?.(`cannot keep debug files in ${cacheDirectory}: ${(error as Error).message}`);
      return false;
    } finally {
      await rm(partial, { force: true });
    }
  };
}

/**
 * Streams `url` into `path` (never the whole file in memory); the byte count. Gives up when the
 * server is silent for `silenceMs` or the answer passes `maxBytes`.
 */
async function download(url: string, path: string, silenceMs: number, maxBytes: number): Promise<number> {
  const controller = new AbortController();
  let silence = setTimeout(() => controller.abort(new Error(`no data for ${silenceMs / 1000} s`)), silenceMs);
  const stillTalking = () => {
    clearTimeout(silence);
    silence = setTimeout(() => controller.abort(new Error(`no data for ${silenceMs / 1000} s`)), silenceMs);
  };
  try {
    const response = await fetch(url, { signal: controller.signal });
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
    try {
      await mkdir(dirname(path), { recursive: true });
    } catch (error) {
      throw new CacheError((error as Error).message);
    }
    let bytes = 0;
    const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
    body.on('data', (chunk: Uint8Array) => {
      stillTalking();
      bytes += chunk.length;
      if (bytes > maxBytes) controller.abort(new Error(`more than ${maxBytes / 2 ** 30} GiB`));
    });
    const file = createWriteStream(path);
    file.on('error', () => {});  // reported through the pipeline, as a CacheError
    try {
      await pipeline(body, file, { signal: controller.signal });
    } catch (error) {
      if (file.errored) throw new CacheError(file.errored.message);
      throw controller.signal.aborted && controller.signal.reason instanceof Error ? controller.signal.reason : error;
    }
    return bytes;
  } catch (error) {
    throw controller.signal.aborted && controller.signal.reason instanceof Error && !(error instanceof CacheError) ? controller.signal.reason : error;
  } finally {
    clearTimeout(silence);
  }
}
