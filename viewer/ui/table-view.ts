// The table: one row per function of the current view tree (or, with "each line", per line of a
// function), sortable by own/total bytes and counts, filterable by name or location. Shows the
// first rows only; the filter finds the rest.
import type { CaptureModel } from '../model/types.js';
import { functionTable, rowShare, type FunctionRow } from '../model/function-table.js';
import { functionGroups } from '../model/function-groups.js';
import type { WidthMetric } from '../model/flame-layout.js';
import type { ViewTree } from '../model/view-tree.js';
import { formatBytes, formatCount, formatPercent, frameName, linesLocation } from '../model/frame-text.js';
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
  private byLine: HTMLInputElement;
  private groups: Int32Array;
  /** The view tree the rows come from and the measure "% of total" is in. */
  private tree: ViewTree | undefined;
  private metric: WidthMetric = 'bytes';
  private percentHead = h('th', { className: 'num' }, '% of total');
  private heads = new Map<SortKey, HTMLElement>();

  constructor(private model: CaptureModel, private onPick: (name: string) => void) {
    this.filter = h('input', { type: 'search', placeholder: 'filter functions or files', 'aria-label': 'filter table' });
    this.filter.addEventListener('input', () => this.render());
    this.groups = functionGroups(model);
    this.byLine = h('input', { type: 'checkbox', 'aria-label': 'one row per line' });
    this.byLine.addEventListener('change', () => this.fill());
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
    const byLineLabel = h('label', { title: 'a function that allocates or calls from several lines gets a row for each' }, this.byLine, ' each line');
    this.element = h('div', { className: 'mv-panel mv-table' }, h('div', { style: 'margin-bottom:6px' }, this.filter, ' ', byLineLabel), table, this.footer);
  }

  setTree(tree: ViewTree, metric: WidthMetric): void {
    this.tree = tree;
    this.metric = metric;
    this.percentHead.textContent = metric === 'bytes' ? '% of total bytes' : '% of total count';
    this.fill();
  }

  private fill(): void {
    if (!this.tree) return;
    this.rows = functionTable(this.tree, this.byLine.checked ? undefined : this.groups).filter((r) => r.frame >= 0);
    this.render();
  }

  private render(): void {
    const wanted = this.filter.value.toLowerCase();
    const key = this.sortKey;
    const matching = wanted
      ? this.rows.filter((r) => frameName(this.model, r.frame).toLowerCase().includes(wanted) || linesLocation(this.model, r.frame, r.lines).toLowerCase().includes(wanted))
      : this.rows;
    const sorted = [...matching].sort((a, b) => b[key] - a[key] || a.frame - b.frame);
    for (const [k, th] of this.heads) th.setAttribute('aria-sort', k === key ? 'descending' : 'none');
    for (const [k, th] of this.heads) th.textContent = th.textContent!.replace(/ ▼$/, '') + (k === key ? ' ▼' : '');
    clear(this.body);
    for (const r of sorted.slice(0, shownRows)) {
      const name = frameName(this.model, r.frame);
      const share = rowShare(r, this.tree!, this.metric);
      const tr = h('tr', {},
        h('td', { className: 'fn', title: name }, name),
        h('td', { className: 'loc' }, linesLocation(this.model, r.frame, r.lines)),
        h('td', { className: 'num' }, formatBytes(r.ownBytes)),
        h('td', { className: 'num' }, formatBytes(r.totalBytes)),
        h('td', { className: 'num' }, formatCount(r.ownCount)),
        h('td', { className: 'num' }, formatCount(r.totalCount)),
        h('td', { className: 'num' }, formatPercent(share.part, share.whole)));
      tr.addEventListener('dblclick', () => this.onPick(name));
      this.body.appendChild(tr);
    }
    const what = this.byLine.checked ? 'lines' : 'functions';
    this.footer.textContent = sorted.length > shownRows ? `showing ${shownRows} of ${sorted.length} ${what}; filter to find others` : `${sorted.length} ${what}; double-click a row to search for it in the flame graph`;
  }
}
