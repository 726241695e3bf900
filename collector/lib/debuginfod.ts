// Debug files by build id from debuginfod servers (the protocol of elfutils' debuginfod, which
// Debian, Ubuntu, Fedora and Arch run: GET <server>/buildid/<hex build id>/debuginfo), for
// `memview symbolize` when DEBUGINFOD_URLS names servers, as gdb and perf do. Files are kept in a
// cache laid out as a debug directory (<cache>/.build-id/ab/cdef....debug), which the symbols addon
// searches like /usr/lib/debug.
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface DebuginfodOptions {
  /** Server base URLs (DEBUGINFOD_URLS is a space-separated list of them). */
  servers: string[];
  /** A debug directory: fetched files go to its .build-id tree. */
  cacheDirectory: string;
  /** Per request; a debug file can be hundreds of MB. */
  timeoutMs?: number;
  /** Told of each file fetched, or of an object no server had. */
  report?: (message: string) => void;
}

/**
 * A fetcher for killed-capture.ts: brings the debug file of `buildId` into the cache; true when it
 * is there now (fetched, or fetched on an earlier run).
 */
export function debuginfodFetcher({ servers, cacheDirectory, timeoutMs = 120_000, report }: DebuginfodOptions) {
  return async (buildId: Uint8Array, objectPath: string): Promise<boolean> => {
    const hex = Buffer.from(buildId).toString('hex');
    const target = join(cacheDirectory, '.build-id', hex.slice(0, 2), `${hex.slice(2)}.debug`);
    if (existsSync(target)) return true;
    const problems: string[] = [];
    report?.(`fetching the debug file of ${objectPath} from debuginfod`);
    for (const server of servers) {
      const url = `${server.replace(/\/+$/, '')}/buildid/${hex}/debuginfo`;
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
        if (!response.ok) {
          problems.push(`${server}: ${response.status}`);
          continue;
        }
        const bytes = new Uint8Array(await response.arrayBuffer());
        await mkdir(dirname(target), { recursive: true });
        // Written whole, then renamed: a run cut short leaves no half file under the real name.
        const partial = `${target}.${process.pid}.part`;
        await writeFile(partial, bytes);
        await rename(partial, target);
        report?.(`fetched the debug file of ${objectPath} (${(bytes.length / (1 << 20)).toFixed(1)} MiB) from ${server}`);
        return true;
      } catch (error) {
        problems.push(`${server}: ${(error as Error).message}`);
      }
    }
    report?.(`no debug file of ${objectPath} (build id ${hex}) from debuginfod (${problems.join('; ')})`);
    return false;
  };
}
