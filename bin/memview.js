#!/usr/bin/env node
// Entry point of the `memview` command. The CLI is written in TypeScript and compiled to dist/
// at install time; this file only forwards to it.
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error) => {
    if (process.env.MEMVIEW_DEBUG === '1') console.error(error);
    else console.error(`memview: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
