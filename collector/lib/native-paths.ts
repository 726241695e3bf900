// Where the built native parts of the collector live, found from this module's own location so
// that it works from the source tree (tests) and from the compiled dist/ tree (the CLI).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findCollectorDirectory(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(directory, 'collector', 'register.cjs'))) return join(directory, 'collector');
    if (existsSync(join(directory, 'register.cjs'))) return directory;
    directory = dirname(directory);
  }
  throw new Error('cannot find the memview collector next to this module');
}

export const collectorDirectory = findCollectorDirectory();
/** The tracing core with the allocator hooks (LD_PRELOAD-able shared object). */
export const preloadLibraryPath = join(collectorDirectory, 'build', 'Release', 'memview_preload.node');
/** The Node.js addon: JIT code events and start/stop. */
export const addonPath = join(collectorDirectory, 'build', 'Release', 'memview.node');
/** Names native pcs from object files on disk, for captures of killed processes (CLI only). */
export const symbolsAddonPath = join(collectorDirectory, 'build', 'Release', 'memview_symbols.node');
/** Loaded with --require in traced node processes. */
export const registerScriptPath = join(collectorDirectory, 'register.cjs');

export function assertCollectorBuilt(): void {
  for (const path of [preloadLibraryPath, addonPath]) {
    if (!existsSync(path)) {
      throw new Error(`the memview collector is not built (${path} is missing); run 'npm run build:collector'`);
    }
  }
}
