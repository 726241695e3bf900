// Collector benchmarks: each workload runs untraced, under `memview run`, under `memview run
// --native` and under heaptrack, interleaved (the machine is small and shared: interleaving spreads
// the noise over every mode alike), and the medians are compared. Afterwards every memview capture
// (without --native) and every heaptrack file is read to compare what the two tools counted.
//
// Used by bench/run.js; can also run alone: node bench/collector/run.js [--quick] [--only a,b]
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { captureCensus } from './capture-census.js';
import { heaptrackAvailable, heaptrackBinary, heaptrackOutput, heaptrackPrint, heaptrackReplay } from './heaptrack.js';
import { generateTypeScriptProject } from './workloads/tsc-project.js';

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, '..', '..');
const workloadDirectory = join(here, 'workloads');
// Other engineers rebuild the collector while the benchmark runs: memview is run from a snapshot
// of the launcher and the built collector taken at the start (see snapshotMemview).
// The `memview` command as npm installs it (a shell script: `run` goes to the native launcher).
let memviewCli = join(root, 'bin', 'memview');
let snapshotCollector = join(root, 'collector');
const timeBinary = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

export const MODES = ['untraced', 'memview', 'native', 'heaptrack'];
const MODE_LABEL = { untraced: 'untraced', memview: 'memview', native: 'memview --native', heaptrack: 'heaptrack' };

/** The malloc-family kinds of memview's stats (everything heaptrack calls an allocation function). */
export const MALLOC_FAMILY = ['malloc', 'calloc', 'realloc', 'posix_memalign', 'aligned_alloc', 'memalign', 'valloc', 'pvalloc', 'new', 'new[]'];

/**
 * The workloads. `args` are what follows `node` (or `memview run [options]`, or `heaptrack -o x node`).
 * `realistic` rows are held to the 1.3x / 1.8x targets, the storm to 3x, `empty` to nothing (it
 * measures the fixed cost of starting up and writing the capture).
 */
export function workloads(scratch) {
  const tscProject = join(scratch, 'tsc-project');
  const script = (name) => join(workloadDirectory, name);
  return [
    { name: 'empty', kind: 'fixed', args: [script('empty.js')], what: 'an empty script: node start-up plus the tracer\'s fixed costs' },
    { name: 'buffers', kind: 'realistic', args: [script('buffers.js')], what: '200k Buffer.alloc of 4097..8192 bytes (calloc each)' },
    { name: 'json', kind: 'realistic', args: [script('json.js')], what: 'JSON.parse of a 4 MB document, 12 times' },
    { name: 'zlib', kind: 'realistic', args: [script('zlib.js')], what: 'gzipSync of 600 KB, 120 times (sync)' },
    { name: 'maps', kind: 'realistic', args: [script('maps.js')], what: 'Map and string heavy: 3 x 80k keyed entries' },
    { name: 'workers', kind: 'realistic', args: [script('workers.js')], what: '2 worker_threads allocating in parallel' },
    {
      name: 'tsc', kind: 'realistic',
      args: [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', tscProject, '--noEmit', 'false', '--outDir', join(tscProject, 'out')],
      what: 'tsc compiling a generated 3-module TypeScript project',
      setup: () => { rmSync(tscProject, { recursive: true, force: true }); generateTypeScriptProject(tscProject, 3); },
    },
    { name: 'storm', kind: 'storm', args: [script('storm.js')], what: '2M new ArrayBuffer(100): ~8M allocator calls, the per-event cost' },
  ];
}

/** The child environment: no NODE_EXTRA_CA_CERTS (node would make ~440k start-up mallocs for it). */
export function childEnvironment(nodeOptions) {
  const environment = { ...process.env };
  delete environment.NODE_EXTRA_CA_CERTS;
  delete environment.NODE_OPTIONS;
  for (const key of Object.keys(environment)) if (key.startsWith('MEMVIEW_')) delete environment[key];
  if (nodeOptions) environment.NODE_OPTIONS = nodeOptions;
  return environment;
}

/** What `memview run` adds to NODE_OPTIONS (cli/commands/run.ts), for the diagnostic heaptrack run. */
const memviewNodeOptions = () => `--require ${join(snapshotCollector, 'register.cjs')} --require ${join(here, 'mimic-register.cjs')}`;

/**
 * Frames through which V8 allocates because memview watches the isolate (its JIT code event
 * handler: the existing-code log when it is installed, then one event per new code object).
 */
const OBSERVER_FRAME = /memview\.node|CodeEventLogger|ExistingCodeLogger|LogFunctionCompilation|JitLogger|SetCodeEventHandler|LinuxPerfJitLogger/;

/** Allocations (malloc family) of a --native capture whose stack passes through OBSERVER_FRAME. */
function observerInducedAllocations(model) {
  const { tree, frames, strings } = model;
  const count = model.views.allocated.count;
  const matches = new Uint8Array(frames.count);
  for (let frame = 0; frame < frames.count; frame++) {
    const name = strings[frames.functionName[frame]] ?? '';
    const file = strings[frames.file[frame]] ?? '';
    if (OBSERVER_FRAME.test(name) || /memview\.node$/.test(file)) matches[frame] = 1;
  }
  // parent[i] < i: one pass marks every node with a matching frame on its path.
  const marked = new Uint8Array(tree.count);
  let induced = 0;
  for (let node = 1; node < tree.count; node++) {
    const frame = tree.frame[node];
    marked[node] = marked[tree.parent[node]] | (frame >= 0 ? matches[frame] : 0);
    if (marked[node]) induced += count[node];
  }
  return induced;
}

/**
 * Copies what `memview run` needs into `directory` (bin/memview and memview.cjs, dist/launcher, dist/cli,
 * dist/collector/lib, collector/register.cjs, the built .node files and the native
 * launcher, package.json), after waiting for a build in
 * progress to finish (the .node files present and unchanged for 3 s). Returns the build time.
 */
async function snapshotMemview(directory) {
  const release = join(root, 'collector', 'build', 'Release');
  const files = ['memview.node', 'memview_preload.node', 'memview-run'].map((name) => join(release, name));
  const signature = () => files.map((file) => (existsSync(file) ? statSync(file).mtimeMs + ':' + statSync(file).size : 'missing')).join(',');
  for (let attempt = 0; ; attempt++) {
    const before = signature();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    if (!before.includes('missing') && before === signature()) break;
    if (attempt === 100) throw new Error('the collector build never settled (collector/build/Release keeps changing)');
  }
  const copy = (from, to = from) => cpSync(join(root, from), join(directory, to), { recursive: true });
  copy('package.json');
  copy('bin/memview');
  copy('bin/memview.cjs');
  copy('dist/launcher');
  copy('dist/cli');
  copy('dist/collector/lib');
  copy('collector/register.cjs');
  mkdirSync(join(directory, 'collector', 'build', 'Release'), { recursive: true });
  for (const file of files) cpSync(file, join(directory, 'collector', 'build', 'Release', file.split('/').pop()));
  memviewCli = join(directory, 'bin', 'memview');
  snapshotCollector = join(directory, 'collector');
  const built = statSync(files[1]).mtime;
  // The snapshot must work: trace the empty workload once.
  const probe = spawnSync(memviewCli, ['run', '-q', '-f', '-o', join(directory, 'probe.bin'), join(workloadDirectory, 'empty.js')], { env: childEnvironment(), encoding: 'utf8' });
  if (probe.status !== 0 || !existsSync(join(directory, 'probe.bin'))) throw new Error(`the memview snapshot does not run: ${probe.stderr}`);
  rmSync(join(directory, 'probe.bin'));
  return built;
}

function commandFor(mode, workload, output) {
  switch (mode) {
    case 'untraced': return [process.execPath, workload.args];
    case 'memview': return [memviewCli, ['run', '-q', '-f', '-o', output, ...workload.args]];
    case 'native': return [memviewCli, ['run', '-q', '-f', '--native', '-o', output, ...workload.args]];
    case 'heaptrack': return [heaptrackBinary, ['-o', output, process.execPath, ...workload.args]];
    default: throw new Error(mode);
  }
}

/** Runs one command, in its own process group (killed whole on timeout); wall and CPU seconds. */
function timedRun(command, args, { timeoutSeconds, scratch, nodeOptions, extraEnvironment }) {
  const timeFile = join(scratch, 'time.txt');
  rmSync(timeFile, { force: true });
  // Variables such as LD_PRELOAD go through env(1) so that they reach only the measured program,
  // not /usr/bin/time.
  if (extraEnvironment) {
    args = [...Object.entries(extraEnvironment).map(([key, value]) => `${key}=${value}`), command, ...args];
    command = '/usr/bin/env';
  }
  const [file, argv] = timeBinary ? [timeBinary, ['-f', '%e %U %S %M', '-o', timeFile, command, ...args]] : [command, args];
  return new Promise((done) => {
    const started = process.hrtime.bigint();
    const child = spawn(file, argv, { env: childEnvironment(nodeOptions), stdio: ['ignore', 'ignore', 'pipe'], detached: true, cwd: scratch });
    let stderr = '';
    child.stderr.on('data', (data) => { stderr = (stderr + data).slice(-2000); });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    }, timeoutSeconds * 1000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const wall = Number(process.hrtime.bigint() - started) / 1e9;
      let cpu;
      let maxRssKb;
      if (timeBinary && existsSync(timeFile)) {
        const fields = readFileSync(timeFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
        if (fields.length === 4 && fields.every(Number.isFinite)) {
          cpu = fields[1] + fields[2];
          maxRssKb = fields[3];
        }
      }
      const ok = code === 0 && !timedOut;
      done({ ok, wall, cpu, maxRssKb, stderrTail: stderr, error: ok ? undefined : `${timedOut ? 'timed out' : `exit ${code ?? signal}`}: ${stderr.trim().split('\n').slice(-3).join(' | ')}` });
    });
  });
}

export function median(values) {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** (max - min) / median, the run-to-run spread of a figure. */
function spread(values) {
  const finite = values.filter((value) => Number.isFinite(value));
  if (finite.length < 2) return undefined;
  return (Math.max(...finite) - Math.min(...finite)) / median(finite);
}

function mallocFamilyCount(stats) {
  return MALLOC_FAMILY.reduce((sum, kind) => sum + (stats.allocators[kind]?.count ?? 0), 0);
}

async function loadReader() {
  const readerPath = join(root, 'dist', 'collector', 'lib', 'reader', 'index.js');
  if (!existsSync(readerPath)) {
    const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
    if (build.status !== 0 && !existsSync(readerPath)) throw new Error('cannot build dist/ (npx tsc -p tsconfig.json failed)');
  }
  return (await import(pathToFileURL(readerPath).href)).readCaptureFile;
}

/**
 * bench/collector/peak-counter.c built into `directory` (the machine's C compiler, which node-gyp
 * needs anyway); undefined when it cannot be built.
 */
function buildPeakCounter(directory) {
  const library = join(directory, 'peak-counter.so');
  const build = spawnSync('cc', ['-O2', '-shared', '-fPIC', '-o', library, join(here, 'peak-counter.c')], { encoding: 'utf8' });
  return build.status === 0 && existsSync(library) ? library : undefined;
}

function ensureCollectorBuilt() {
  const release = join(root, 'collector', 'build', 'Release');
  if (existsSync(join(release, 'memview_preload.node')) && existsSync(join(release, 'memview.node'))) return;
  console.error('collector not built: npm run build:collector');
  const build = spawnSync('npm', ['run', 'build:collector'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build:collector failed');
}

/**
 * Runs the collector benchmarks. Options: quick (fewer repetitions), only (workload names),
 * log (progress lines). Returns the results object (see the end of the function).
 */
export async function runCollectorBench({ quick = false, only, log = (line) => console.error(line) } = {}) {
  ensureCollectorBuilt();
  const readCaptureFile = await loadReader();
  const withHeaptrack = heaptrackAvailable();
  const repetitions = quick ? 3 : 5;
  // heaptrack is slow on allocation-heavy node programs (over 100 s for the storm on a loaded
  // machine): its runs stop once they have used this much time for a workload (at least one runs).
  const heaptrackBudgetSeconds = quick ? 40 : 150;
  const timeoutSeconds = quick ? 200 : 400;
  const scratch = mkdtempSync(join(tmpdir(), 'memview-bench-'));
  const selected = workloads(scratch).filter((workload) => !only || only.includes(workload.name));
  const results = {};
  const startedAt = Date.now();
  try {
    const collectorBuilt = await snapshotMemview(join(scratch, 'memview'));
    log(`[collector] measuring the collector built ${collectorBuilt.toISOString()} (snapshot in ${scratch}/memview)`);
    for (const workload of selected) {
      workload.setup?.();
      results[workload.name] = {
        name: workload.name, kind: workload.kind, what: workload.what,
        command: `node ${workload.args.map((arg) => arg.startsWith(root) ? arg.slice(root.length + 1) : arg.startsWith(scratch) ? `<tmp>${arg.slice(scratch.length)}` : arg).join(' ')}`,
        runs: Object.fromEntries(MODES.map((mode) => [mode, []])),
        heaptrackSeconds: 0,
      };
    }
    // A warm-up of each workload untraced (page cache, compiled code of tsc...), not measured.
    for (const workload of selected) {
      const [command, args] = commandFor('untraced', workload);
      await timedRun(command, args, { timeoutSeconds, scratch });
    }
    for (let round = 0; round < repetitions; round++) {
      for (const workload of selected) {
        const result = results[workload.name];
        // The order of the modes rotates from round to round.
        const order = MODES.map((_, index) => MODES[(index + round) % MODES.length]);
        for (const mode of order) {
          if (mode === 'heaptrack') {
            if (!withHeaptrack) continue;
            if (result.runs.heaptrack.length > 0 && result.heaptrackSeconds > heaptrackBudgetSeconds) continue;
          }
          const output = join(scratch, `${workload.name}.${mode}.${round}${mode === 'heaptrack' ? '' : '.bin'}`);
          const [command, args] = commandFor(mode, workload, output);
          const run = await timedRun(command, args, { timeoutSeconds, scratch });
          if (mode === 'heaptrack') result.heaptrackSeconds += run.wall;
          if (mode !== 'untraced') {
            const file = mode === 'heaptrack' ? heaptrackOutput(output) : output;
            run.file = file && existsSync(file) ? file : undefined;
            run.fileBytes = run.file ? statSync(run.file).size : undefined;
            if (!run.file && run.ok) {
              run.ok = false;
              run.error = 'no output file';
            }
          }
          result.runs[mode].push(run);
          log(`[collector] round ${round + 1}/${repetitions} ${workload.name.padEnd(8)} ${MODE_LABEL[mode].padEnd(16)} ${run.ok ? `${run.wall.toFixed(2)} s wall, ${run.cpu?.toFixed(2) ?? '?'} s cpu${run.fileBytes !== undefined ? `, ${(run.fileBytes / 1e6).toFixed(2)} MB` : ''}` : `FAILED ${run.error}`}`);
        }
      }
    }
    const timingSeconds = (Date.now() - startedAt) / 1000;

    // The yardstick for peak heap: each workload untraced but for a preloaded counter of live heap
    // bytes (peak-counter.c), as many runs as the timing rounds, after them.
    const peakCounter = buildPeakCounter(scratch);
    if (!peakCounter) log('[collector] cannot build bench/collector/peak-counter.c (cc): no counted peaks');
    for (let round = 0; peakCounter && round < repetitions; round++) {
      for (const workload of selected) {
        const [command, args] = commandFor('untraced', workload);
        const run = await timedRun(command, args, { timeoutSeconds, scratch, extraEnvironment: { LD_PRELOAD: peakCounter } });
        const counted = [...run.stderrTail.matchAll(/memview-peak-counter: peak (\d+) calls (\d+)/g)].pop();
        if (!run.ok || !counted) continue;
        const result = results[workload.name];
        result.counted ??= { peaks: [], calls: [] };
        result.counted.peaks.push(Number(counted[1]));
        result.counted.calls.push(Number(counted[2]));
      }
    }

    // Agreement: read every capture (without --native) and every heaptrack file.
    for (const workload of selected) {
      const result = results[workload.name];
      result.memviewReadErrors = [];
      const memviewOk = result.runs.memview.filter((run) => run.ok);
      for (const run of result.runs.memview) {
        if (!run.ok) continue;
        // What the file is made of (thread switches...): every storm capture, the last of the others.
        if (workload.kind === 'storm' || run === memviewOk[memviewOk.length - 1]) {
          try {
            const census = await captureCensus(run.file);
            run.census = { threadSwitches: census.threadSwitches, records: census.records, compression: census.compression, threads: Object.keys(census.threads).length };
          } catch (error) {
            run.census = { error: String(error?.message ?? error) };
          }
        }
        try {
          const stats = (await readCaptureFile(run.file)).stats;
          run.stats = {
            mallocFamily: mallocFamilyCount(stats), peakHeapBytes: stats.peakHeapBytes, peakBytes: stats.peakBytes,
            totalAllocations: stats.totalAllocations, leakedBytes: stats.leakedBytes, leakedAllocations: stats.leakedAllocations,
            allocators: Object.fromEntries(Object.entries(stats.allocators).map(([kind, figure]) => [kind, figure.count])),
            truncated: stats.truncated,
          };
        } catch (error) {
          run.readError = String(error?.message ?? error);
        }
        rmSync(run.file, { force: true });
      }
      // The last --native capture: how many allocations V8 made for memview's code event handler.
      const lastNative = result.runs.native.filter((run) => run.ok).pop();
      if (lastNative && workload.kind !== 'storm') {
        try {
          const model = await readCaptureFile(lastNative.file);
          result.nativeCalls = mallocFamilyCount(model.stats);
          result.observerInduced = observerInducedAllocations(model);
        } catch (error) {
          result.memviewReadErrors.push(`--native capture: ${error?.message ?? error}`);
        }
      }
      for (const run of result.runs.native) if (run.file) rmSync(run.file, { force: true });
      // The tracing core alone: the preload library started from the environment, without the
      // launcher's node options (no register script, no JIT code event handler), so the program
      // runs as it does under heaptrack.
      {
        const output = join(scratch, `${workload.name}.core.bin`);
        const [command, args] = commandFor('untraced', workload);
        const run = await timedRun(command, args, {
          timeoutSeconds, scratch,
          extraEnvironment: { LD_PRELOAD: join(snapshotCollector, 'build', 'Release', 'memview_preload.node'), MEMVIEW_OUTPUT: output, MEMVIEW_NATIVE: '0' },
        });
        if (run.ok && existsSync(output)) {
          try {
            const stats = (await readCaptureFile(output)).stats;
            result.core = { calls: mallocFamilyCount(stats), peakBytes: stats.peakHeapBytes, wall: run.wall, cpu: run.cpu };
          } catch (error) {
            result.memviewReadErrors.push(`core-only capture: ${error?.message ?? error}`);
          }
        }
        rmSync(output, { force: true });
      }
      // heaptrack once more with the node options memview adds (its register script, without its
      // code event handler since tracing is off).
      if (withHeaptrack && workload.kind !== 'storm') {
        const output = join(scratch, `${workload.name}.heaptrack-flags`);
        const [command, args] = commandFor('heaptrack', workload, output);
        const run = await timedRun(command, args, { timeoutSeconds, scratch, nodeOptions: memviewNodeOptions() });
        const file = heaptrackOutput(output);
        if (run.ok && file) {
          const printed = heaptrackPrint(file);
          const replay = await heaptrackReplay(file);
          result.heaptrackWithFlags = { calls: printed.calls, peakBytes: replay.peakBytes };
          rmSync(file, { force: true });
        }
      }
      for (const run of result.runs.heaptrack) {
        if (!run.ok) continue;
        const printed = heaptrackPrint(run.file);
        const replay = await heaptrackReplay(run.file);
        run.stats = { calls: printed.calls, peakPrinted: printed.peakBytes, peakText: printed.peakText, ...replay };
        rmSync(run.file, { force: true });
      }
      summarize(result);
      log(`[collector] read ${workload.name}: memview ${result.memviewCalls ?? '?'} calls, peak ${result.memviewPeak ?? '?'}; heaptrack ${result.heaptrackCalls ?? '?'} calls, peak ${result.heaptrackPeak ?? '?'}`);
    }
    return {
      collectorBuilt: collectorBuilt.toISOString(), repetitions, heaptrackBudgetSeconds, timingSeconds, totalSeconds: (Date.now() - startedAt) / 1000,
      heaptrack: withHeaptrack, heaptrackVersion: withHeaptrack ? spawnSync(heaptrackBinary, ['--version'], { encoding: 'utf8' }).stdout.trim() : undefined,
      workloads: Object.values(results),
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function summarize(result) {
  const ok = (mode) => result.runs[mode].filter((run) => run.ok);
  const base = ok('untraced');
  result.untracedWall = median(base.map((run) => run.wall));
  result.untracedCpu = median(base.map((run) => run.cpu));
  for (const mode of ['memview', 'native', 'heaptrack']) {
    const runs = ok(mode);
    result[mode] = {
      n: runs.length,
      failures: result.runs[mode].length - runs.length,
      errors: result.runs[mode].filter((run) => !run.ok).map((run) => run.error),
      wall: median(runs.map((run) => run.wall)),
      cpu: median(runs.map((run) => run.cpu)),
      wallRatio: median(runs.map((run) => run.wall)) / result.untracedWall,
      cpuRatio: median(runs.map((run) => run.cpu)) / result.untracedCpu,
      fileBytes: median(runs.map((run) => run.fileBytes)),
    };
  }
  const memviewRuns = ok('memview').filter((run) => run.stats);
  const heaptrackRuns = ok('heaptrack').filter((run) => run.stats);
  result.memviewCalls = median(memviewRuns.map((run) => run.stats.mallocFamily));
  result.memviewPeak = median(memviewRuns.map((run) => run.stats.peakHeapBytes));
  result.memviewCallsSpread = spread(memviewRuns.map((run) => run.stats.mallocFamily));
  result.memviewPeakSpread = spread(memviewRuns.map((run) => run.stats.peakHeapBytes));
  result.memviewLeaked = median(memviewRuns.map((run) => run.stats.leakedBytes));
  result.memviewAllocators = Object.fromEntries(MALLOC_FAMILY.concat('mmap').map((kind) => [kind, median(memviewRuns.map((run) => run.stats.allocators[kind]))]));
  result.memviewReadErrors.push(...ok('memview').filter((run) => run.readError).map((run) => run.readError));
  result.heaptrackCalls = median(heaptrackRuns.map((run) => run.stats.calls));
  result.heaptrackPeakPrinted = heaptrackRuns.length ? heaptrackRuns.map((run) => run.stats.peakText).join(', ') : undefined;
  result.heaptrackPeak = median(heaptrackRuns.map((run) => run.stats.peakBytes));
  result.heaptrackFrees = median(heaptrackRuns.map((run) => run.stats.frees));
  result.heaptrackLeaked = median(heaptrackRuns.map((run) => run.stats.leakedBytes));
  result.heaptrackCallsSpread = spread(heaptrackRuns.map((run) => run.stats.calls));
  result.heaptrackPeakSpread = spread(heaptrackRuns.map((run) => run.stats.peakBytes));
  result.callsDifference = result.memviewCalls / result.heaptrackCalls - 1;
  result.peakDifference = result.memviewPeak / result.heaptrackPeak - 1;
  if (result.counted) {
    result.countedPeak = median(result.counted.peaks);
    result.countedPeakSpread = spread(result.counted.peaks);
    result.countedCalls = median(result.counted.calls);
  }
  // The per-allocation cost of the hook (storm): extra time per malloc-family call (with its free).
  if (result.memviewCalls) {
    for (const mode of ['memview', 'native', 'heaptrack']) {
      const calls = mode === 'heaptrack' ? result.heaptrackCalls : result.memviewCalls;
      result[mode].wallNsPerAllocation = (result[mode].wall - result.untracedWall) / calls * 1e9;
      result[mode].cpuNsPerAllocation = (result[mode].cpu - result.untracedCpu) / calls * 1e9;
    }
  }
  // Drop the bulky per-run stats that the report does not need.
  for (const mode of MODES) for (const run of result.runs[mode]) delete run.file;
}

// ---- the report -------------------------------------------------------------------------------

const TARGET = { realistic: { memview: 1.3, native: 1.8 }, storm: { memview: 3, native: 3 } };

const fmt = {
  ratio: (value) => (Number.isFinite(value) ? `${value.toFixed(2)}x` : 'n/a'),
  seconds: (value) => (Number.isFinite(value) ? `${value.toFixed(2)} s` : 'n/a'),
  bytes: (value) => {
    if (!Number.isFinite(value)) return 'n/a';
    if (value >= 1e9) return `${(value / 1e9).toFixed(2)} GB`;
    if (value >= 1e6) return `${(value / 1e6).toFixed(2)} MB`;
    if (value >= 1e3) return `${(value / 1e3).toFixed(1)} kB`;
    return `${value} B`;
  },
  percent: (value) => (Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${(value * 100).toFixed(2)}%` : 'n/a'),
  count: (value) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a'),
  ns: (value) => (Number.isFinite(value) ? `${Math.round(value)} ns` : 'n/a'),
};

function verdict(pass) {
  return pass === undefined ? 'n/a' : pass ? 'PASS' : '**MISS**';
}

function yesNo(value) {
  return value === undefined ? 'n/a' : value ? 'yes' : 'no';
}

/** Markdown for BENCHMARKS.md. */
export function collectorMarkdown(bench) {
  const lines = [];
  const rows = bench.workloads;
  lines.push(`${bench.repetitions} interleaved rounds (untraced, memview, memview --native, heaptrack; the order rotates every round) after one untraced warm-up; medians. ` +
    `heaptrack runs stop once they have used ${bench.heaptrackBudgetSeconds} s for a workload (n shows how many ran). ` +
    `Wall time is what the targets are about; CPU time (user + sys of the whole process tree, from /usr/bin/time) is shown because it is far less disturbed by other load on the machine. ` +
    `memview is measured through its command as npm installs it (\`bin/memview run -q -f -o out.bin [--native] <same command>\`: a shell script that execs the native launcher, collector/src/launcher/run_launcher.cpp), so its times include the launcher; heaptrack likewise through its \`heaptrack\` script (and its heaptrack_interpret process). ` +
    `Timing took ${Math.round(bench.timingSeconds)} s, reading the files ${Math.round(bench.totalSeconds - bench.timingSeconds)} s.`);
  lines.push('');
  lines.push('### Time and file size');
  lines.push('');
  lines.push('| workload | untraced | memview | target | memview --native | target | heaptrack (n) | memview CPU | --native CPU | heaptrack CPU | memview file | --native file | heaptrack file | file ≤ heaptrack\'s |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const row of rows) {
    const target = TARGET[row.kind];
    const pass = (mode) => (target && Number.isFinite(row[mode].wallRatio) ? row[mode].wallRatio <= target[mode] : undefined);
    const fileVerdict = Number.isFinite(row.memview.fileBytes) && Number.isFinite(row.heaptrack.fileBytes)
      ? `${verdict(row.memview.fileBytes <= row.heaptrack.fileBytes)} / ${verdict(row.native.fileBytes <= row.heaptrack.fileBytes)}` : 'n/a';
    lines.push(`| ${row.name} | ${fmt.seconds(row.untracedWall)} (cpu ${fmt.seconds(row.untracedCpu)}) | ${fmt.ratio(row.memview.wallRatio)} | ${target ? `≤ ${target.memview}x ${verdict(pass('memview'))}` : '—'} | ${fmt.ratio(row.native.wallRatio)} | ${target ? `≤ ${target.native}x ${verdict(pass('native'))}` : '—'} | ${fmt.ratio(row.heaptrack.wallRatio)} (${row.heaptrack.n}) | ${fmt.ratio(row.memview.cpuRatio)} | ${fmt.ratio(row.native.cpuRatio)} | ${fmt.ratio(row.heaptrack.cpuRatio)} | ${fmt.bytes(row.memview.fileBytes)} | ${fmt.bytes(row.native.fileBytes)} | ${fmt.bytes(row.heaptrack.fileBytes)} | ${fileVerdict} |`);
  }
  lines.push('');
  lines.push('"file ≤ heaptrack\'s" is memview / memview --native. Ratios are traced ÷ untraced medians.');
  lines.push('');
  lines.push('### Agreement with heaptrack');
  lines.push('');
  lines.push('memview: malloc-family calls (malloc+calloc+realloc+posix_memalign+aligned_alloc+memalign+valloc+pvalloc+new+new[]) and `peakHeapBytes`, from `readCaptureFile` of each capture without --native; heaptrack: "calls to allocation functions" and "peak heap memory consumption" of `heaptrack_print` (the peak here is the exact value from replaying the data file; heaptrack_print rounds it to 3 digits; its figure for every run is in brackets). Medians over the runs; "spread" is (max − min) / median of a tool\'s own runs, the run-to-run noise that the difference has to be read against.');
  lines.push('');
  lines.push('| workload | memview calls (spread) | heaptrack calls (spread) | diff | ≤ 1% | memview peak heap (spread) | heaptrack peak (spread) | diff | ≤ 1% |');
  lines.push('|---|---|---|---|---|---|---|---|---|');
  for (const row of rows) {
    const within = (value) => (Number.isFinite(value) ? Math.abs(value) <= 0.01 : undefined);
    lines.push(`| ${row.name} | ${fmt.count(row.memviewCalls)} (${fmt.percent(row.memviewCallsSpread)}) | ${fmt.count(row.heaptrackCalls)} (${fmt.percent(row.heaptrackCallsSpread)}) | ${fmt.percent(row.callsDifference)} | ${verdict(within(row.callsDifference))} | ${fmt.bytes(row.memviewPeak)} (${fmt.percent(row.memviewPeakSpread)}) | ${fmt.bytes(row.heaptrackPeak)} [${row.heaptrackPeakPrinted ?? 'n/a'}] (${fmt.percent(row.heaptrackPeakSpread)}) | ${fmt.percent(row.peakDifference)} | ${verdict(within(row.peakDifference))} |`);
  }
  lines.push('');
  if (rows.some((row) => row.countedPeak !== undefined)) {
    lines.push('### Peak heap against the program\'s own, counted');
    lines.push('');
    lines.push('Which tool\'s peak is the program\'s? Each workload ran once per round more, untraced but for bench/collector/peak-counter.c preloaded: one atomic add per allocator call, no stacks, no I/O, so the program\'s timing (and with it when the garbage collector\'s threads free what it dropped) stays its own. It counts usable sizes (`malloc_usable_size`), a few bytes per block over what was asked: +0.2% on 4 KiB blocks, about +4% on the storm\'s 100-byte ones. "within" says whether the tool\'s median lies inside the range of the counted runs. The calls are compared the same way: the malloc family as the counter saw it, against each tool\'s median (heaptrack\'s own preload changes what node does a little, and memview leaves out what V8 allocates for its code-event handler).');
    lines.push('');
    lines.push('| workload | counted peak, median (range, spread) | counted calls (range) | memview peak heap | memview vs counted | within | heaptrack peak | heaptrack vs counted | within | memview calls vs counted | heaptrack calls vs counted |');
    lines.push('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const row of rows) {
      if (row.countedPeak === undefined) continue;
      const low = Math.min(...row.counted.peaks);
      const high = Math.max(...row.counted.peaks);
      const inside = (value) => (Number.isFinite(value) ? value >= low && value <= high : undefined);
      const fewestCalls = Math.min(...row.counted.calls);
      const mostCalls = Math.max(...row.counted.calls);
      lines.push(`| ${row.name} | ${fmt.bytes(row.countedPeak)} (${fmt.bytes(low)} – ${fmt.bytes(high)}, ${fmt.percent(row.countedPeakSpread)}) | ${fmt.count(row.countedCalls)} (${fmt.count(fewestCalls)} – ${fmt.count(mostCalls)}) | ${fmt.bytes(row.memviewPeak)} | ${fmt.percent(row.memviewPeak / row.countedPeak - 1)} | ${yesNo(inside(row.memviewPeak))} | ${fmt.bytes(row.heaptrackPeak)} | ${fmt.percent(row.heaptrackPeak / row.countedPeak - 1)} | ${yesNo(inside(row.heaptrackPeak))} | ${fmt.percent(row.memviewCalls / row.countedCalls - 1)} | ${fmt.percent(row.heaptrackCalls / row.countedCalls - 1)} |`);
    }
    lines.push('');
  }
  lines.push('### Event counts by kind (medians), for digging into the differences');
  lines.push('');
  lines.push(`| workload | ${MALLOC_FAMILY.filter((kind) => !['aligned_alloc', 'memalign', 'valloc', 'pvalloc'].includes(kind)).join(' | ')} | mmap | memview leaked at exit | heaptrack frees | heaptrack leaked |`);
  lines.push(`|---|${'---|'.repeat(6)}---|---|---|---|`);
  for (const row of rows) {
    const a = row.memviewAllocators ?? {};
    lines.push(`| ${row.name} | ${['malloc', 'calloc', 'realloc', 'posix_memalign', 'new', 'new[]', 'mmap'].map((kind) => fmt.count(a[kind])).join(' | ')} | ${fmt.bytes(row.memviewLeaked)} | ${fmt.count(row.heaptrackFrees)} | ${fmt.bytes(row.heaptrackLeaked)} |`);
  }
  lines.push('');
  if (rows.some((row) => row.core)) {
    lines.push('### The tracing core alone against heaptrack');
    lines.push('');
    lines.push('One more run per workload with only `LD_PRELOAD=memview_preload.node MEMVIEW_OUTPUT=...` — no launcher, no register script, no JIT code event handler — so that node does exactly what it does under heaptrack; compared with heaptrack\'s medians.');
    lines.push('');
    lines.push('| workload | core CPU ratio (1 run) | core calls | heaptrack calls | diff | ≤ 1% | heaptrack spread | core peak heap | heaptrack peak (spread) | diff | ≤ 1% |');
    lines.push('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const row of rows) {
      if (!row.core) continue;
      const calls = row.core.calls / row.heaptrackCalls - 1;
      const peak = row.core.peakBytes / row.heaptrackPeak - 1;
      const within = (value) => (Number.isFinite(value) ? Math.abs(value) <= 0.01 : undefined);
      lines.push(`| ${row.name} | ${fmt.ratio(row.core.cpu / row.untracedCpu)} | ${fmt.count(row.core.calls)} | ${fmt.count(row.heaptrackCalls)} | ${fmt.percent(calls)} | ${verdict(within(calls))} | ${fmt.percent(row.heaptrackCallsSpread)} | ${fmt.bytes(row.core.peakBytes)} | ${fmt.bytes(row.heaptrackPeak)} (${fmt.percent(row.heaptrackPeakSpread)}) | ${fmt.percent(peak)} | ${verdict(within(peak))} |`);
    }
    lines.push('');
  }
  if (rows.some((row) => row.heaptrackWithFlags || row.observerInduced !== undefined)) {
    lines.push('### Where the call-count difference comes from');
    lines.push('');
    lines.push('`memview run` changes the traced program: it adds `--require collector/register.cjs` to NODE_OPTIONS and installs a V8 JIT code event handler. ' +
      '"heaptrack + memview\'s flags" runs heaptrack once more with those node options plus bench/collector/mimic-register.cjs, which does what the register script does when tracing is on (it loads worker_threads and adds an exit listener) except installing the handler. ' +
      '"through the handler" counts, in the last memview --native capture, the allocations whose stack passes through memview.node or V8\'s code-event logging (ExistingCodeLogger, CodeEventLogger, LogFunctionCompilation...). ' +
      'The last column is memview\'s count without those, against heaptrack with the same flags: what is left for the collector itself to explain.');
    lines.push('');
    lines.push('| workload | memview calls | heaptrack | heaptrack + memview\'s flags | flags\' share | --native calls | through the handler | memview − handler vs heaptrack + flags | heaptrack + flags peak | memview peak vs it |');
    lines.push('|---|---|---|---|---|---|---|---|---|---|');
    for (const row of rows) {
      if (!row.heaptrackWithFlags && row.observerInduced === undefined) continue;
      const flags = row.heaptrackWithFlags;
      const residual = flags && row.observerInduced !== undefined && row.nativeCalls
        ? (row.memviewCalls - row.observerInduced * (row.memviewCalls / row.nativeCalls)) / flags.calls - 1 : undefined;
      lines.push(`| ${row.name} | ${fmt.count(row.memviewCalls)} | ${fmt.count(row.heaptrackCalls)} | ${fmt.count(flags?.calls)} | ${fmt.percent(flags ? flags.calls / row.heaptrackCalls - 1 : undefined)} | ${fmt.count(row.nativeCalls)} | ${fmt.count(row.observerInduced)} | ${fmt.percent(residual)} | ${fmt.bytes(flags?.peakBytes)} | ${fmt.percent(flags ? row.memviewPeak / flags.peakBytes - 1 : undefined)} |`);
    }
    lines.push('');
  }
  if (rows.some((row) => row.runs.memview.some((run) => run.census && !run.census.error))) {
    lines.push('### What the capture files are made of');
    lines.push('');
    lines.push('From a census of the records of memview captures (bench/collector/capture-census.js): the last capture of each workload, and every storm capture. ' +
      'A THREAD record is written whenever the thread of consecutive events changes; each switch also breaks the address deltas and the matches of the compressor.');
    lines.push('');
    lines.push('| workload | run | file | events (alloc + free + realloc) | bytes per event | thread switches | threads | compression ratio |');
    lines.push('|---|---|---|---|---|---|---|---|');
    for (const row of rows) {
      row.runs.memview.forEach((run, index) => {
        if (!run.census || run.census.error) return;
        const records = run.census.records;
        const events = (records.alloc ?? 0) + (records.free ?? 0) + (records.realloc ?? 0);
        lines.push(`| ${row.name} | ${index + 1} | ${fmt.bytes(run.fileBytes)} | ${fmt.count(events)} | ${(run.fileBytes / events).toFixed(2)} | ${fmt.count(run.census.threadSwitches)} | ${run.census.threads} | ${run.census.compression.toFixed(1)} |`);
      });
    }
    lines.push('');
  }
  const storm = rows.find((row) => row.name === 'storm');
  if (storm) {
    lines.push('### Per-event cost (storm)');
    lines.push('');
    lines.push(`Extra time per malloc-family call (each with its free, so about two hook calls), (traced − untraced) ÷ calls: memview ${fmt.ns(storm.memview.wallNsPerAllocation)} wall / ${fmt.ns(storm.memview.cpuNsPerAllocation)} CPU; memview --native ${fmt.ns(storm.native.wallNsPerAllocation)} wall / ${fmt.ns(storm.native.cpuNsPerAllocation)} CPU; heaptrack ${fmt.ns(storm.heaptrack.wallNsPerAllocation)} wall / ${fmt.ns(storm.heaptrack.cpuNsPerAllocation)} CPU. The storm's target (≤ 3x) needs about ${fmt.ns(2 * storm.untracedWall / storm.memviewCalls * 1e9)} per call or less.`);
    lines.push('');
  }
  const failures = rows.flatMap((row) => ['memview', 'native', 'heaptrack'].flatMap((mode) => row[mode].errors.map((error) => `${row.name} / ${MODE_LABEL[mode]}: ${error}`)))
    .concat(rows.flatMap((row) => row.memviewReadErrors.map((error) => `${row.name} / reading the capture: ${error}`)))
    .concat(rows.flatMap((row) => row.runs.untraced.filter((run) => !run.ok).map((run) => `${row.name} / untraced: ${run.error}`)));
  if (failures.length) {
    lines.push('### Failed runs');
    lines.push('');
    for (const failure of failures) lines.push(`- ${failure}`);
    lines.push('');
  }
  lines.push('<details><summary>Every run (wall seconds; CPU seconds in brackets)</summary>');
  lines.push('');
  lines.push('| workload | untraced | memview | memview --native | heaptrack |');
  lines.push('|---|---|---|---|---|');
  for (const row of rows) {
    lines.push(`| ${row.name} | ${MODES.map((mode) => row.runs[mode].map((run) => (run.ok ? `${run.wall.toFixed(2)} (${run.cpu?.toFixed(2) ?? '?'})` : 'failed')).join(', ') || '—').join(' | ')} |`);
  }
  lines.push('');
  lines.push('</details>');
  lines.push('');
  lines.push('### Workloads');
  lines.push('');
  for (const row of rows) lines.push(`- **${row.name}** — ${row.what}: \`${row.command}\``);
  lines.push('');
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  const onlyIndex = argv.indexOf('--only');
  const bench = await runCollectorBench({ quick: argv.includes('--quick'), only: onlyIndex >= 0 ? argv[onlyIndex + 1].split(',') : undefined });
  writeFileSync(join(here, 'results.json'), JSON.stringify(bench, null, 1));
  console.log(collectorMarkdown(bench));
}
