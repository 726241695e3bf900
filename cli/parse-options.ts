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
    throw new UsageError(message.split('\n')[0].replace(/\. To specify.*$/, ''), usage);
  }
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
