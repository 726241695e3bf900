// memview's command dispatcher: one module per command under ./commands, loaded on demand so a
// command's dependencies cost nothing to the others. Each command module exports
// `run(argv: string[]): Promise<number>` (the exit status) and `summary` (one line for --help).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { closest, exitStatusOfFailure, UsageError, UserFacingError } from './usage-error.js';

interface CommandModule {
  run(argv: string[]): Promise<number>;
  summary: string;
}

const commands: Record<string, () => Promise<CommandModule>> = {
  run: () => import('./commands/run.js'),
  stats: () => import('./commands/stats.js'),
  summary: () => import('./commands/summary.js'),
  tree: () => import('./commands/tree.js'),
  export: () => import('./commands/export.js'),
  attach: () => import('./commands/attach.js'),
  detach: () => import('./commands/detach.js'),
  live: () => import('./commands/live.js'),
  report: () => import('./commands/report.js'),
  flamegraph: () => import('./commands/flamegraph.js'),
  viewer: () => import('./commands/viewer.js'),
  symbolize: () => import('./commands/symbolize.js'),
};

/** Registers a command module path; only commands whose compiled module exists are offered. */
function availableCommands(): string[] {
  return Object.keys(commands);
}

function version(): string {
  const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return packageJson.version;
}

async function printHelp(): Promise<void> {
  const lines = ['Usage: memview <command> [options]', '', 'Commands:'];
  for (const name of availableCommands()) {
    const module = await commands[name]();
    lines.push(`  ${name.padEnd(12)} ${module.summary}`);
  }
  lines.push('', 'memview <command> --help shows the options of a command.');
  console.log(lines.join('\n'));
}

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  try {
    if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
      await printHelp();
      return first === undefined ? 2 : 0;
    }
    if (first === '--version' || first === '-v') {
      console.log(version());
      return 0;
    }
    if (first in commands) return await (await commands[first]()).run(rest);
    // `memview capture.bin` is short for the default report of a capture.
    if (!first.startsWith('-') && existsSync(first) && 'report' in commands) {
      if (statSync(first).isDirectory()) throw new UserFacingError(`${first}: is a directory, not a capture file`);
      return await (await commands.report()).run(argv);
    }
    // A name no command has that looks like a file (a mistyped capture name) is a missing file.
    if (first.endsWith('.bin') || first.includes('/')) throw new UserFacingError(`no such capture file: ${first}`);
    const suggestion = closest(first, availableCommands());
    throw new UsageError(
      `unknown command '${first}'${suggestion ? ` (did you mean '${suggestion}'?)` : ''}`,
      'memview <command> [options]; memview --help lists the commands',
    );
  } catch (error) {
    return exitStatusOfFailure(error);
  }
}
