// Memory over time: tracked memory (filled), heap and RSS (lines), the peak marked. When ranges
// are allowed, dragging selects a time range (reported in ms since start). The legend and the
// hint / readout line sit in a row above the chart, never on the data; the peak's label is drawn in
// a band above the plot, beside its marker (chart-labels.ts).
import type { Timeline } from '../model/types.js';
import { formatBytes, formatDuration } from '../model/frame-text.js';
import { h } from './dom.js';
import { labelBesideMarker } from './chart-labels.js';

const seriesColours = { tracked: '#d9822b', heap: '#3d7dd8', RSS: '#777' };

export class TimelineView {
  readonly element: HTMLElement;
  private canvas: HTMLCanvasElement;
  private label: HTMLElement;
  private range: [number, number] | null = null;
  private dragFrom: number | null = null;
  // `top` is the band the peak's label is drawn in.
  private readonly pad = { left: 64, right: 12, top: 15, bottom: 18 };

  constructor(private timeline: Timeline, private peakTimeMs: number, private durationMs: number, private onRange: ((range: [number, number] | null) => void) | null) {
    this.canvas = h('canvas', { 'aria-label': 'memory over time' });
    this.label = h('div', { className: 'mv-range' });
    const legend = h('div', { className: 'mv-chart-legend' }, ...Object.entries(seriesColours).map(([name, colour]) => h('span', { style: `--swatch:${colour}` }, name)));
    this.element = h('div', { className: 'mv-timeline' }, h('div', { className: 'mv-chart-head' }, legend, this.label), this.canvas);
    new ResizeObserver(() => this.draw()).observe(this.element);
    if (onRange) this.listen();
    this.canvas.addEventListener('pointermove', (e) => this.showReadout(e.clientX - this.canvas.getBoundingClientRect().left));
    this.canvas.addEventListener('pointerleave', () => this.updateLabel());
    this.updateLabel();
  }

  private get endMs(): number {
    const t = this.timeline.timeMs;
    return Math.max(this.durationMs, t.length ? t[t.length - 1] : 0, 1);
  }

  private xOf(ms: number, width: number): number {
    return this.pad.left + (ms / this.endMs) * (width - this.pad.left - this.pad.right);
  }

  private msAt(x: number): number {
    const width = this.canvas.clientWidth;
    const f = (x - this.pad.left) / (width - this.pad.left - this.pad.right);
    return Math.max(0, Math.min(1, f)) * this.endMs;
  }

  setRange(range: [number, number] | null): void {
    this.range = range;
    this.updateLabel();
    this.draw();
  }

  private message = '';

  /** While the pointer is over the chart (and not choosing a range): the figures at that time. */
  private showReadout(x: number): void {
    if (this.dragFrom !== null || this.message) return;
    const { timeMs, trackedBytes, heapBytes, rssBytes } = this.timeline;
    if (timeMs.length === 0) return;
    const at = this.msAt(x);
    let lo = 0, hi = timeMs.length - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (timeMs[mid] < at) lo = mid + 1; else hi = mid; }
    if (lo > 0 && at - timeMs[lo - 1] < timeMs[lo] - at) lo--; // the nearest sample, not the next one
    this.label.textContent = `${formatDuration(timeMs[lo])}: tracked ${formatBytes(trackedBytes[lo])}, heap ${formatBytes(heapBytes[lo])}, RSS ${formatBytes(rssBytes[lo])}`;
  }

  /** A line shown instead of the range hint (e.g. why ranges are unavailable). */
  setMessage(text: string): void {
    this.message = text;
    this.updateLabel();
  }

  private updateLabel(): void {
    if (this.message) this.label.textContent = this.message;
    else if (!this.onRange) this.label.textContent = '';
    else if (this.range) this.label.textContent = `range ${formatDuration(this.range[0])} – ${formatDuration(this.range[1])} (double-click to clear)`;
    else this.label.textContent = 'drag to choose a time range';
  }

  private listen(): void {
    const c = this.canvas;
    const x = (e: MouseEvent) => e.clientX - c.getBoundingClientRect().left;
    // A press that never moved is a click (or half of a double-click): it chooses no range.
    let moved = false;
    c.addEventListener('pointerdown', (e) => { this.dragFrom = this.msAt(x(e)); moved = false; c.setPointerCapture(e.pointerId); });
    c.addEventListener('pointermove', (e) => {
      if (this.dragFrom === null) return;
      moved = true;
      const to = this.msAt(x(e));
      this.range = [Math.min(this.dragFrom, to), Math.max(this.dragFrom, to)];
      this.updateLabel();
      this.draw();
    });
    c.addEventListener('pointerup', () => {
      if (this.dragFrom === null) return;
      this.dragFrom = null;
      if (!moved) return;
      if (this.range && this.range[1] - this.range[0] < this.endMs / 500) this.range = null;
      this.updateLabel();
      this.draw();
      this.onRange?.(this.range);
    });
    c.addEventListener('dblclick', () => { this.range = null; this.updateLabel(); this.draw(); this.onRange?.(null); });
  }

  draw(): void {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const width = c.clientWidth, height = c.clientHeight;
    if (width === 0 || height === 0) return;
    c.width = Math.round(width * dpr);
    c.height = Math.round(height * dpr);
    const ctx = c.getContext('2d')!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const { timeMs, trackedBytes, heapBytes, rssBytes } = this.timeline;
    let max = 1;
    for (const series of [trackedBytes, rssBytes, heapBytes]) for (let i = 0; i < series.length; i++) if (series[i] > max) max = series[i];
    const plotH = height - this.pad.top - this.pad.bottom;
    const yOf = (v: number) => this.pad.top + plotH * (1 - v / max);
    ctx.font = '11px system-ui, "DejaVu Sans", sans-serif';
    ctx.fillStyle = '#667';
    ctx.strokeStyle = '#e4e4ea';
    ctx.lineWidth = 1;
    for (let k = 0; k <= 2; k++) {
      const v = (max * k) / 2;
      ctx.beginPath(); ctx.moveTo(this.pad.left, yOf(v) + 0.5); ctx.lineTo(width - this.pad.right, yOf(v) + 0.5); ctx.stroke();
      ctx.fillText(formatBytes(v), 4, yOf(v) + 4);
    }
    ctx.fillText('0', this.pad.left, height - 4);
    const endText = formatDuration(this.endMs);
    ctx.fillText(endText, width - this.pad.right - ctx.measureText(endText).width, height - 4);
    if (this.range) {
      ctx.fillStyle = 'rgba(107, 63, 212, 0.15)';
      const x0 = this.xOf(this.range[0], width), x1 = this.xOf(this.range[1], width);
      ctx.fillRect(x0, this.pad.top, Math.max(1, x1 - x0), plotH);
    }
    if (timeMs.length > 0) {
      ctx.beginPath();
      ctx.moveTo(this.xOf(timeMs[0], width), yOf(0));
      for (let i = 0; i < timeMs.length; i++) ctx.lineTo(this.xOf(timeMs[i], width), yOf(trackedBytes[i]));
      ctx.lineTo(this.xOf(timeMs[timeMs.length - 1], width), yOf(0));
      ctx.closePath();
      ctx.fillStyle = 'rgba(244, 164, 72, 0.45)';
      ctx.fill();
      const line = (series: Float64Array, colour: string) => {
        ctx.beginPath();
        for (let i = 0; i < timeMs.length; i++) ctx[i ? 'lineTo' : 'moveTo'](this.xOf(timeMs[i], width), yOf(series[i]));
        ctx.strokeStyle = colour;
        ctx.lineWidth = 1.5;
        ctx.stroke();
      };
      line(trackedBytes, seriesColours.tracked);
      line(heapBytes, seriesColours.heap);
      line(rssBytes, seriesColours.RSS);
    }
    const px = this.xOf(this.peakTimeMs, width);
    ctx.strokeStyle = '#c0392b';
    ctx.setLineDash([4, 3]);
    ctx.beginPath(); ctx.moveTo(px + 0.5, this.pad.top); ctx.lineTo(px + 0.5, this.pad.top + plotH); ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = '#c0392b';
    ctx.fillText('peak', labelBesideMarker(px, ctx.measureText('peak').width, this.pad.left, width - this.pad.right), this.pad.top - 4);
  }
}
