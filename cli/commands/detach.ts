// `memview detach PID`: stop the capture `memview attach PID` started, and close the inspector if
// memview opened it.
import { AttachError, checkTarget, openInspector, stopTracking } from '../../collector/lib/attach-inspector.js';
import { parseOptions } from '../parse-options.js';
import { UserFacingError } from '../usage-error.js';
import { inspectorPort, processId } from './attach.js';

export const summary = 'stop the capture that memview attach started in a process';

const usage = 'memview detach [--port P] PID';

const options = {
  port: { type: 'string' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(argv, options, usage);
  if (values.help) {
    console.log(`usage: ${usage}\n\nStops tracing in a process memview attach started, writes the rest of its capture,\nand closes the inspector if memview opened it.`);
    return 0;
  }
  const pid = processId(positionals, usage);
  const port = inspectorPort(values.port, usage);
  const timeoutMs = Number(values.timeout ?? '5') * 1000;
  try {
    checkTarget(pid);
    const { session, openedByUs } = await openInspector(pid, port, timeoutMs);
    const outcome = await stopTracking(session, openedByUs);
    if (!outcome.attached) throw new UserFacingError(`process ${pid} is not being traced by memview attach`);
    console.error(`memview: stopped tracing process ${pid}; the capture is ${outcome.output}`);
    return 0;
  } catch (error) {
    if (error instanceof AttachError) throw new UserFacingError(`cannot detach from process ${pid}: ${error.message}`);
    throw error;
  }
}
