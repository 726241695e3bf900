#!/usr/bin/env node
// The `memview` command's JavaScript side, behind bin/memview (the shell script npm installs, which
// sends a plain `memview run` to the native launcher instead). The CLI is written in TypeScript and
// compiled to dist/ at install time; this file only forwards to it.
//
// CommonJS, and `run` on a path of its own: `memview run` starts before the program it traces, so
// its start-up is part of every traced run's wall time. Node's ES module loader and the dispatcher's
// module graph cost ~11 ms of it; `run` instead loads one CommonJS bundle of the command
// (dist/launcher/run-entry.cjs, made from dist/cli/run-entry.js by `npm run build:ts`). Every other
// command goes through the dispatcher, dist/cli/main.js.
'use strict';

const argv = process.argv.slice(2);
// `__conclude-run` is the native launcher's (bin/memview): the end of a run it leaves to this CLI.
const launcherEntry = argv[0] === 'run' ? 'launch' : argv[0] === '__conclude-run' ? 'conclude' : undefined;
const command = launcherEntry
  ? new Promise((done) => done(require('../dist/launcher/run-entry.cjs')[launcherEntry](argv.slice(1))))
  : import('../dist/cli/main.js').then(({ main }) => main(argv));

command.then(
  (code) => { process.exitCode = code; },
  (error) => {
    if (process.env.MEMVIEW_DEBUG === '1') console.error(error);
    else if (error && error.code === 'MODULE_NOT_FOUND') console.error(`memview: the CLI is not built (${error.message.split('\n')[0]}); run 'npm run build'`);
    else console.error(`memview: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
