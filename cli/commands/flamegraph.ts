// `memview flamegraph capture.bin`: the HTML report opened on one view: the peak (default), what
// was never freed (--leaks), short-lived allocations (--temporary-allocations[=N]), or with a
// selectable time range (--temporal).
import { parseReportArgs, writeReportCommand } from './report.js';

export const summary = 'write an HTML flame graph report: peak, --leaks, --temporary-allocations[=N] or --temporal';

const usage = 'memview flamegraph <capture.bin> [-o out.html] [--leaks | --temporary-allocations[=N]] [--temporal] [--confidential] [--open]';

export async function run(argv: string[]): Promise<number> {
  const request = parseReportArgs(argv, usage, 'memview-flamegraph-');
  if (!request) return 0;
  return writeReportCommand(request);
}
