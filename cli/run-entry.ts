// `memview run` without the command dispatcher, for the launcher's start-up time: bin/memview.cjs
// loads it bundled into one CommonJS file (dist/launcher/run-entry.cjs, see package.json build:ts).
import { run } from './commands/run.js';
import { exitStatusOfFailure } from './usage-error.js';

export function launch(argv: string[]): Promise<number> {
  return run(argv).catch(exitStatusOfFailure);
}
