// The options every reporting command shares to pick what it reports: the peak (default), --leaks
// (live at the end) or --temporary-allocations[=N] (freed before N more allocations on their thread).
import { UsageError } from '../usage-error.js';

export type ReportedView = 'peak' | 'leaks' | 'temporary';

export const viewOptions = {
  leaks: { type: 'boolean' },
  'temporary-allocations': { type: 'string' },
} as const;

export const viewLabels: Record<ReportedView, string> = {
  peak: 'live at the peak',
  leaks: 'leaked (live at the end)',
  temporary: 'temporary',
};

/**
 * `--temporary-allocations` takes an optional value: a bare flag means N=1, and
 * `--temporary-allocations 5` (a number as the next word) means N=5. parseArgs wants `=N`.
 */
export function normaliseOptionalValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') { out.push(...argv.slice(i)); break; }
    if (argv[i] !== '--temporary-allocations') { out.push(argv[i]); continue; }
    if (/^\d+$/.test(argv[i + 1] ?? '')) out.push(`--temporary-allocations=${argv[++i]}`);
    else out.push('--temporary-allocations=1');
  }
  return out;
}

export function chooseView(values: { leaks?: boolean; 'temporary-allocations'?: string }, usage: string): { view: ReportedView; temporaryThreshold: number } {
  const temporary = values['temporary-allocations'];
  if (values.leaks && temporary !== undefined) throw new UsageError('--leaks and --temporary-allocations are exclusive: pick one', usage);
  if (temporary !== undefined) return { view: 'temporary', temporaryThreshold: positiveInteger(temporary, '--temporary-allocations', usage) };
  return { view: values.leaks ? 'leaks' : 'peak', temporaryThreshold: 1 };
}

export function positiveInteger(text: string, flag: string, usage: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) throw new UsageError(`${flag} wants a positive whole number, not '${text}'`, usage);
  return value;
}

/** The single capture file a reporting command takes. */
export function oneCaptureFile(positionals: string[], usage: string): string {
  if (positionals.length === 1) return positionals[0];
  throw new UsageError(positionals.length === 0 ? 'missing the capture file' : `expected one capture file, got ${positionals.length}`, usage);
}
