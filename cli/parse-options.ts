// Option parsing shared by every command: node's parseArgs in strict mode, with unknown flags turned
// into a UsageError that suggests the closest known flag.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { closest, UsageError } from './usage-error.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export function parseOptions<T extends OptionSpec>(
  argv: string[],
  options: T,
  usage: string,
  { allowPositionals = true, stopAtFirstPositional = false } = {},
) {
  let args = argv;
  let passthrough: string[] = [];
  if (stopAtFirstPositional) {
    // Everything from the first non-option (or after `--`) belongs to the profiled program.
    const split = firstPositionalIndex(argv, options);
    if (split >= 0) {
      passthrough = argv.slice(argv[split] === '--' ? split + 1 : split);
      args = argv.slice(0, split);
    }
  }
  args = joinNegativeValues(args, options);
  try {
    const parsed = parseArgs({ args, options, allowPositionals, strict: true });
    return { values: parsed.values, positionals: [...parsed.positionals], passthrough };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const unknown = /Unknown option '([^']+)'/.exec(message);
    if (unknown) {
      const known = Object.entries(options).flatMap(([name, spec]) => [
        `--${name}`,
        ...(spec.short ? [`-${spec.short}`] : []),
      ]);
      const suggestion = closest(unknown[1], known);
      throw new UsageError(
        `unknown option '${unknown[1]}'${suggestion ? ` (did you mean '${suggestion}'?)` : ''}`,
        usage,
      );
    }
    const ambiguous = /Option '(-[^ ']+)(?: [^']*)?' argument is ambiguous/.exec(message);
    if (ambiguous) {
      const long = ambiguous[1].startsWith('--') ? ambiguous[1] : `--${Object.entries(options).find(([, spec]) => `-${spec.short}` === ambiguous[1])?.[0] ?? ''}`;
      throw new UsageError(`${ambiguous[1]} needs a value; for one that starts with '-', write ${long}=VALUE`, usage);
    }
    // "Option '-o, --output <value>' argument missing": the option as the user may have written it.
    const missing = /Option '(-[^ ',]+)(?:, (--[^ ']+))?(?: [^']*)?' argument missing/.exec(message);
    if (missing) throw new UsageError(`${missing[2] ? `${missing[1]} (${missing[2]})` : missing[1]} needs a value`, usage);
    throw new UsageError(message.split('\n')[0].replace(/\. To specify.*$/, ''), usage);
  }
}

/**
 * `-n -1` as `--top=-1`: parseArgs takes a value that starts with '-' for another option and calls
 * it ambiguous; a negative number is a value, and the command's own check then says what is
 * wrong with it ("-n wants a positive whole number, not '-1'").
 */
function joinNegativeValues(argv: string[], options: OptionSpec): string[] {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') return [...joined, ...argv.slice(i)];
    const name = arg.startsWith('--') && !arg.includes('=') ? arg.slice(2)
      : /^-[^-]$/.test(arg) ? Object.entries(options).find(([, spec]) => spec.short === arg.slice(1))?.[0]
      : undefined;
    const next = argv[i + 1];
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      joined.push(`--${name}=${next}`);
      i++;
    } else {
      joined.push(arg);
    }
  }
  return joined;
}

function firstPositionalIndex(argv: string[], options: OptionSpec): number {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') return i;
    if (!arg.startsWith('-') || arg === '-') return i;
    const name = arg.startsWith('--') ? arg.slice(2).split('=')[0] : undefined;
    const spec = name !== undefined
      ? options[name]
      : Object.values(options).find((candidate) => candidate.short === arg.slice(1, 2));
    if (spec && spec.type === 'string' && !arg.includes('=') && !(arg.startsWith('-') && !arg.startsWith('--') && arg.length > 2)) i++;
  }
  return -1;
}
