// `memview export --format pprof|speedscope|collapsed FILE`: the chosen view (peak, leaks or
// temporary allocations) in another profiler's format, to a file (-o) or standard output.
import { basename } from 'node:path';
import { parseOptions } from '../parse-options.js';
import { UsageError } from '../usage-error.js';
import { collapsedStacks } from '../export/collapsed.js';
import { pprofProfile } from '../export/pprof.js';
import { speedscopeFile } from '../export/speedscope.js';
import { openCapture } from '../terminal/open-capture.js';
import { refuseToReplaceCapture } from '../terminal/output-guard.js';
import { writeWholeFile } from '../terminal/whole-file.js';
import { writeStdoutPieces } from '../terminal/stdout.js';
import { chooseView, normaliseOptionalValues, oneCaptureFile, viewLabels, viewOptions } from '../terminal/view-choice.js';

export const summary = 'convert a capture for other tools: pprof, speedscope, collapsed stacks (flamegraph.pl, inferno)';

const usage = 'memview export --format pprof|speedscope|collapsed [-o FILE] [--leaks | --temporary-allocations[=N]] [--count] FILE';

const help = `usage: ${usage}

Formats:
  pprof       gzip-compressed profile.proto: alloc_objects, alloc_space (everything allocated),
              inuse_objects, inuse_space (the chosen view); for go tool pprof, Pyroscope, Grafana
  speedscope  speedscope JSON (https://www.speedscope.app): one profile in bytes, one in allocations
  collapsed   "a;b;c 1234" lines for flamegraph.pl and inferno (bytes; allocations with --count)

Options:
  -F, --format FORMAT               pprof, speedscope or collapsed
  -o, --output FILE                 where to write (default: standard output; pprof needs -o on a terminal)
      --leaks                       what was still live at the end instead of at the peak
      --temporary-allocations[=N]   allocations freed before N more on their thread (default N=1)
      --count                       collapsed: weigh stacks by allocations instead of bytes
  -h, --help                        show this help`;

const options = {
  format: { type: 'string', short: 'F' },
  output: { type: 'string', short: 'o' },
  count: { type: 'boolean' },
  ...viewOptions,
  help: { type: 'boolean', short: 'h' },
} as const;

const formats = ['pprof', 'speedscope', 'collapsed'] as const;
type Format = (typeof formats)[number];

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(normaliseOptionalValues(argv), options, usage);
  if (values.help) {
    console.log(help);
    return 0;
  }
  if (values.format === undefined) throw new UsageError('missing --format (pprof, speedscope or collapsed)', usage);
  const format = values.format as Format;
  if (!formats.includes(format)) throw new UsageError(`unknown format '${values.format}': pprof, speedscope or collapsed`, usage);
  if (values.count && format !== 'collapsed') throw new UsageError(`--count weighs collapsed stacks; ${format} keeps both bytes and allocations`, usage);
  const file = oneCaptureFile(positionals, usage);
  const { view, temporaryThreshold } = chooseView(values, usage);
  if (format === 'pprof' && values.output === undefined && process.stdout.isTTY) {
    throw new UsageError('pprof output is binary: give -o FILE or redirect standard output', usage);
  }
  if (values.output !== undefined) refuseToReplaceCapture(values.output, file);

  const model = await openCapture(file, { temporaryThreshold });
  const metrics = model.views[view];
  const meaning = view === 'temporary' ? `${viewLabels.temporary} (freed before ${temporaryThreshold} more allocation${temporaryThreshold === 1 ? '' : 's'})` : viewLabels[view];
  // In pieces: collapsed stacks of a large capture do not fit in one string.
  let output: Iterable<Uint8Array | string>;
  if (format === 'pprof') output = [pprofProfile(model, metrics, meaning)];
  else if (format === 'speedscope') output = [JSON.stringify(speedscopeFile(model, metrics, meaning, basename(file), `memview ${await version()}`))];
  else output = collapsedStacks(model, metrics, values.count ? 'count' : 'bytes');

  if (values.output === undefined) {
    await writeStdoutPieces(output);
    return 0;
  }
  await writeWholeFile(values.output, output);
  console.error(`memview: wrote ${values.output} (${format}, ${meaning})`);
  return 0;
}

async function version(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  try {
    return JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')).version;
  } catch {
    return '';
  }
}
