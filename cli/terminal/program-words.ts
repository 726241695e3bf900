// What `memview run WORDS` runs: a script (node runs it), a command after `--`, or `node ...`
// written out, as heaptrack, valgrind and perf take their programs. The native launcher
// (collector/src/launcher/run_launcher.cpp) reads the words the same way; keep the two alike.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { basename, delimiter, extname, join, resolve } from 'node:path';
import { UserFacingError } from '../usage-error.js';

export interface ProgramWords {
  /** The command to start: node's own path for a script, else the word as given (looked up on PATH). */
  command: string;
  commandArguments: string[];
  /** What a default capture name is made from: the script, also the one a `node` command runs. */
  stem: string;
}

const isFile = (path: string): boolean => existsSync(path) && statSync(path).isFile();
const isDirectory = (path: string): boolean => existsSync(path) && statSync(path).isDirectory();

/** The executable `name` names on PATH (a name with a slash is not looked up), or undefined. */
function onPath(name: string): string | undefined {
  if (name.includes('/')) return undefined;
  for (const directory of (process.env.PATH ?? '').split(delimiter)) {
    if (!directory) continue;
    const candidate = join(directory, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not there: the next directory
    }
  }
  return undefined;
}

/**
 * The script a node command line runs: its first word that is not an option and is a file (a
 * `-r module` option's value is mostly no file here), if any.
 */
function nodeScript(nodeArguments: string[]): string | undefined {
  return nodeArguments.find((word) => !word.startsWith('-') && isFile(word));
}

function stemOf(path: string): string {
  return basename(path, extname(path)) || 'program';
}

/**
 * Reads the words after `memview run`'s options. `explicitCommand`: they came after `--`. A first
 * word `node` that is no file here is node itself, as after `--`. A script that does not exist is
 * an error; one that names a command on PATH says how to run that command.
 */
export function programWords(words: string[], explicitCommand: boolean): ProgramWords {
  const [first, ...rest] = words;
  if (explicitCommand || (first === 'node' && !isFile(first))) {
    const script = basename(first) === 'node' ? nodeScript(rest) : undefined;
    return { command: first, commandArguments: rest, stem: stemOf(script ?? first) };
  }
  // A directory is a script to node too (its package.json "main", else its index.js): node
  // resolves it, and says so in its own words when it cannot, as it would untraced.
  if (isDirectory(first)) return { command: process.execPath, commandArguments: words, stem: stemOf(resolve(first)) };
  if (!isFile(first)) {
    const command = onPath(first);
    throw new UserFacingError(command
      ? `cannot find the script '${first}'; to trace the command ${command}, put it after --: memview run [options] -- ${first} ...`
      : `cannot find the script '${first}'`);
  }
  return { command: process.execPath, commandArguments: words, stem: stemOf(first) };
}
