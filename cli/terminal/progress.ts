// A progress bar for long work on stderr — bytes done, rate and time left — drawn only when stderr
// is a terminal, so pipes and logs stay clean. Redrawn at most 10 times a second.
import { formatBytes } from '../../viewer/model/frame-text.js';
import { terminalColumns, type OutputStream } from './style.js';

const REDRAW_INTERVAL_MS = 100;
/** Small captures decode before a bar would be worth seeing. */
const SHOW_AFTER_MS = 300;

export interface ProgressStream extends OutputStream {
  write(text: string): boolean;
}

export class ProgressBar {
  private readonly startMs: number;
  private lastDrawMs = 0;
  private drawn = false;

  constructor(
    private readonly label: string,
    private readonly stream: ProgressStream = process.stderr,
    private readonly enabled = process.stderr.isTTY === true,
    private readonly now: () => number = Date.now,
  ) {
    this.startMs = now();
  }

  update(doneBytes: number, totalBytes: number): void {
    if (!this.enabled) return;
    const now = this.now();
    if (now - this.startMs < SHOW_AFTER_MS || now - this.lastDrawMs < REDRAW_INTERVAL_MS) return;
    this.lastDrawMs = now;
    this.stream.write(`\r${progressLine(this.label, doneBytes, totalBytes, (now - this.startMs) / 1000, terminalColumns(this.stream))}\x1b[K`);
    this.drawn = true;
  }

  /** Clears the bar so the next output starts on a clean line. */
  finish(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}

/** "label [#####.....]  45%  120 MiB/260 MiB  80.0 MiB/s  ETA 2s", fitted to `columns`. */
export function progressLine(label: string, doneBytes: number, totalBytes: number, elapsedSeconds: number, columns: number): string {
  const fraction = totalBytes > 0 ? Math.min(1, doneBytes / totalBytes) : 0;
  const rate = elapsedSeconds > 0 ? doneBytes / elapsedSeconds : 0;
  const eta = rate > 0 ? (totalBytes - doneBytes) / rate : Infinity;
  const figures = `${(fraction * 100).toFixed(0).padStart(3)}%  ${formatBytes(doneBytes)}/${formatBytes(totalBytes)}  ${formatBytes(Math.round(rate))}/s  ETA ${formatEta(eta)}`;
  const barWidth = Math.max(10, Math.min(40, columns - label.length - figures.length - 6));
  const filled = Math.round(fraction * barWidth);
  const line = `${label} [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${figures}`;
  return line.length < columns ? line : line.slice(0, columns - 1);
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  return `${Math.floor(seconds / 60)}m${String(Math.ceil(seconds % 60)).padStart(2, '0')}s`;
}
