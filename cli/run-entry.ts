// `memview run` without the command dispatcher, for the launcher's start-up time: bin/memview.cjs
// loads it bundled into one CommonJS file (dist/launcher/run-entry.cjs, see package.json build:ts).
import { concludeRun, run, type RunEnding } from './commands/run.js';
import { exitStatusOfFailure } from './usage-error.js';

export function launch(argv: string[]): Promise<number> {
  return run(argv).catch(exitStatusOfFailure);
}

/**
 * `memview __conclude-run ENDING`: the native launcher's program ended other than plainly (killed,
 * no capture, an incomplete one, followed children): the rest is done here, as `memview run` does.
 * ENDING is a RunEnding as JSON.
 */
export function conclude(argv: string[]): Promise<number> {
  return Promise.resolve().then(() => concludeRun(JSON.parse(argv[0] ?? '') as RunEnding)).catch(exitStatusOfFailure);
}
