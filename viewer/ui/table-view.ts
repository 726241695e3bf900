// The table: one row per function of the current view tree, sortable by own/total bytes and
// counts, filterable by name or location. Shows the first rows only; the filter finds the rest.
import type { CaptureModel } from '../model/types.js';
import { rowShare, type FunctionRow } from '../model/function-table.js';
import type { WidthMetric } from '../model/flame-layout.js';
import type { ViewTree } from '../model/view-tree.js';
import { formatBytes, formatCount, formatPercent, frameLocation, frameName } from '../model/frame-text.js';
import { clear, h } from './dom.js';

type SortKey = 'ownBytes' | 'totalBytes' | 'ownCount' | 'totalCount';
const shownRows = 500;

export class TableView {
  readonly element: HTMLElement;
  private filter: HTMLInputElement;
  private body = h('tbody');
  private footer = h('div', { className: 'mv-note' });
  private rows: FunctionRow[] = [];
  private sortKey: SortKey = 'totalBytes';
  /** The view tree the rows came from (for its totals) and the measure "% of total" is in. */
  private tree: Pick<ViewTree, 'totalBytes' | 'totalCount'> = { totalBytes: new Float64Array(1), totalCount: new Float64Array(1) };
  private metric: WidthMetric = 'bytes';
  private percentHead = h('th', { className: 'num' }, '% of total');
  private heads = new Map<SortKey, HTMLElement>();

  constructor(private model: CaptureModel, private onPick: (name: string) => void) {
    this.filter = h('input', { type: 'search', placeholder: 'filter functions or files', 'aria-label': 'filter table' });
    this.filter.addEventListener('input', () => this.render());
    const head = (key: SortKey, text: string) => {
      const th = h('th', { className: 'num', title: 'sort' }, text);
      th.addEventListener('click', () => { this.sortKey = key; this.render(); });
      this.heads.set(key, th);
      return th;
    };
    const table = h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, 'function'), h('th', {}, 'location'),
        head('ownBytes', 'own bytes'), head('totalBytes', 'total bytes'), head('ownCount', 'own count'), head('totalCount', 'total count'), this.percentHead)),
      this.body);
    this.element = h('div', { className: 'mv-panel mv-table' }, h('div', { style: 'margin-bottom:6px' }, this.filter), table, this.footer);
  }

  setRows(rows: FunctionRow[], tree: Pick<ViewTree, 'totalBytes' | 'totalCount'>, metric: WidthMetric): void {
    this.rows = rows.filter((r) => r.frame >= 0);
    this.tree = tree;
    this.metric = metric;
    this.percentHead.textContent = metric === 'bytes' ? '% of total bytes' : '% of total count';
    this.render();
  }

  private render(): void {
    const wanted = this.filter.value.toLowerCase();
    const key = this.sortKey;
    const matching = wanted
      ? this.rows.filter((r) => frameName(this.model, r.frame).toLowerCase().includes(wanted) || frameLocation(this.model, r.frame).toLowerCase().includes(wanted))
      : this.rows;
    const sorted = [...matching].sort((a, b) => b[key] - a[key] || a.frame - b.frame);
    for (const [k, th] of this.heads) th.setAttribute('aria-sort', k === key ? 'descending' : 'none');
    for (const [k, th] of this.heads) th.textContent = th.textContent!.replace(/ ▼$/, '') + (k === key ? ' ▼' : '');
    clear(this.body);
    for (const r of sorted.slice(0, shownRows)) {
      const name = frameName(this.model, r.frame);
      const share = rowShare(r, this.tree, this.metric);
      const tr = h('tr', {},
        h('td', { className: 'fn', title: name }, name),
        h('td', { className: 'loc' }, frameLocation(this.model, r.frame)),
        h('td', { className: 'num' }, formatBytes(r.ownBytes)),
        h('td', { className: 'num' }, formatBytes(r.totalBytes)),
        h('td', { className: 'num' }, formatCount(r.ownCount)),
        h('td', { className: 'num' }, formatCount(r.totalCount)),
        h('td', { className: 'num' }, formatPercent(share.part, share.whole)));
      tr.addEventListener('dblclick', () => this.onPick(name));
      this.body.appendChild(tr);
    }
    this.footer.textContent = sorted.length > shownRows ? `showing ${shownRows} of ${sorted.length} functions; filter to find others` : `${sorted.length} functions; double-click a row to search for it in the flame graph`;
  }
}
