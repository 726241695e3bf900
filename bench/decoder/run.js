// `npm run bench` entry for the decoder (called by bench/run.js): the engine benchmarks, written
// to bench/decoder/RESULTS.md. Builds the engine first if it is missing. The multi-GB capture
// benchmark is separate (node bench/decoder/big-capture-bench.mjs --gb 2): it writes 2 GB to disk.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
if (!existsSync(`${root}wasm/build/decoder.wasm`)) {
  const build = spawnSync('npm', ['run', 'build:wasm'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
const quick = process.argv.includes('--quick') ? ['--quick'] : [];
const bench = spawnSync(process.execPath, [`${root}bench/decoder/decoder-bench.mjs`, ...quick, '--write-results'], { cwd: root, stdio: 'inherit' });
process.exit(bench.status ?? 1);
