// `npm run bench`: the collector benchmarks (bench/collector/), then the decoder and viewer
// benchmarks when their scripts exist (bench/decoder/run.js, bench/viewer/run.js; they write their
// own RESULTS.md), and BENCHMARKS.md at the root with the machine, the date and the results.
//
//   node bench/run.js [--quick] [--only buffers,storm] [--skip-collector]
//
// --quick: 3 rounds instead of 5 and a smaller heaptrack budget (about a third of the time).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { collectorMarkdown, root, runCollectorBench } from './collector/run.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const onlyIndex = argv.indexOf('--only');
const only = onlyIndex >= 0 ? argv[onlyIndex + 1]?.split(',') : undefined;
const skipCollector = argv.includes('--skip-collector');
// --from-results: write BENCHMARKS.md again from bench/collector/results.json (e.g. after editing
// bench/collector/FINDINGS.md) without running anything.
const fromResults = argv.includes('--from-results');

function machine() {
  let model = cpus()[0]?.model ?? 'unknown CPU';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((text) => text.startsWith('model name'));
    if (line) model = line.split(':')[1].trim();
  } catch { /* not Linux */ }
  return {
    cpu: model,
    cores: cpus().length,
    memoryGiB: totalmem() / 2 ** 30,
    node: process.version,
    kernel: spawnSync('uname', ['-sr'], { encoding: 'utf8' }).stdout?.trim(),
  };
}

/** Which collector was measured: the commit, uncommitted changes under collector/, the build time. */
function collectorState() {
  const git = (...args) => spawnSync('git', args, { cwd: root, encoding: 'utf8' }).stdout?.trim() ?? '';
  const changed = git('status', '--short', '--', 'collector/src', 'collector/binding.gyp').split('\n').filter(Boolean).length;
  let built = 'not built';
  try {
    built = statSync(join(root, 'collector', 'build', 'Release', 'memview_preload.node')).mtime.toISOString().slice(0, 19).replace('T', ' ') + ' UTC';
  } catch { /* not built */ }
  return `commit ${git('rev-parse', '--short', 'HEAD')}${changed ? ` with ${changed} uncommitted change(s) under collector/src` : ''}; memview_preload.node built ${built}`;
}

let started = new Date();
let measuredCollector = collectorState();
let loadBefore = loadavg();
let host = machine();
let collector;
let loadAfter;
const resultsPath = join(root, 'bench', 'collector', 'results.json');
if (fromResults) {
  const saved = JSON.parse(readFileSync(resultsPath, 'utf8'));
  ({ machine: host, measuredCollector, loadBefore, loadAfter } = saved);
  started = new Date(saved.date);
  collector = saved;
} else {
  if (!skipCollector) collector = await runCollectorBench({ quick, only });
  loadAfter = loadavg();
  if (collector) {
    writeFileSync(resultsPath, JSON.stringify({ date: started.toISOString(), quick, machine: host, measuredCollector, loadBefore, loadAfter, ...collector }, null, 1) + '\n');
  }
}

// The other benchmarks, when someone has added them.
const others = [];
for (const name of fromResults ? [] : ['decoder', 'viewer']) {
  const script = join(root, 'bench', name, 'run.js');
  if (!existsSync(script)) continue;
  console.error(`[bench] node bench/${name}/run.js${quick ? ' --quick' : ''}`);
  const t0 = Date.now();
  const result = spawnSync(process.execPath, [script, ...(quick ? ['--quick'] : [])], { cwd: root, stdio: 'inherit', timeout: 20 * 60 * 1000 });
  others.push({ name, status: result.status, seconds: (Date.now() - t0) / 1000, results: existsSync(join(root, 'bench', name, 'RESULTS.md')) });
}

const lines = [];
lines.push('# Benchmarks');
lines.push('');
lines.push(`Produced by \`npm run bench${quick || collector?.quick ? ' -- --quick' : ''}\` (bench/run.js) on ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC.`);
lines.push('');
lines.push(`- machine: ${host.cpu}, ${host.cores} cores, ${host.memoryGiB.toFixed(1)} GiB; ${host.kernel}; node ${host.node}`);
lines.push(`- collector measured: ${measuredCollector}${collector ? ` (the benchmark ran a snapshot of the launcher and of the collector built ${collector.collectorBuilt.slice(0, 19).replace('T', ' ')} UTC)` : ''}`);
lines.push(`- load average (1/5/15 min) before: ${(loadBefore ?? []).map((value) => value.toFixed(2)).join(' / ')}, after: ${(loadAfter ?? []).map((value) => value.toFixed(2)).join(' / ')} — the machine is shared; runs are interleaved and medians are used, but wall-time ratios still move by tens of percent from one run of the benchmark to the next`);
lines.push('');
if (collector) {
  lines.push('## Collector');
  lines.push('');
  lines.push(collectorMarkdown(collector));
  const notes = join(root, 'bench', 'collector', 'FINDINGS.md');
  if (existsSync(notes)) {
    lines.push('## Findings');
    lines.push('');
    lines.push(readFileSync(notes, 'utf8').replace(/^# .*\n+/, '').trim());
    lines.push('');
  }
}
lines.push('## Other benchmarks');
lines.push('');
for (const name of ['decoder', 'viewer']) {
  const run = others.find((other) => other.name === name);
  const resultsLink = existsSync(join(root, 'bench', name, 'RESULTS.md')) ? `[bench/${name}/RESULTS.md](bench/${name}/RESULTS.md)` : undefined;
  if (run) {
    lines.push(`- ${name}: \`node bench/${name}/run.js\` ${run.status === 0 ? 'ran' : `FAILED (exit ${run.status})`} in ${Math.round(run.seconds)} s; results: ${resultsLink ?? 'none written'}`);
  } else if (fromResults && existsSync(join(root, 'bench', name, 'run.js'))) {
    lines.push(`- ${name}: \`node bench/${name}/run.js\` (not run by \`--from-results\`); results: ${resultsLink ?? 'none written'}`);
  } else {
    lines.push(`- ${name}: no bench/${name}/run.js yet${resultsLink ? `; earlier results: ${resultsLink}` : ''}`);
  }
}
lines.push('');
writeFileSync(join(root, 'BENCHMARKS.md'), lines.join('\n'));
console.error(fromResults ? '[bench] wrote BENCHMARKS.md from bench/collector/results.json' : `[bench] wrote BENCHMARKS.md (${Math.round((Date.now() - started.getTime()) / 1000)} s)`);
