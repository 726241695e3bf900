// The flame graph panel: a pixi Application drawn on demand (no ticker), mouse and keyboard
// navigation, and a viewport in value units. It asks the FlameRenderer to draw and the layout to
// hit-test; it holds no model logic.
import { Application } from 'pixi.js';
import { deepestVisibleRow, hitTest, type FlameLayout } from '../model/flame-layout.js';
import { FlameRenderer, rowHeight, type FlameScene, type FlameViewport } from '../render/flame-renderer.js';

export interface FlameViewEvents {
  hover(slot: number, clientX: number, clientY: number): void;
  zoomed(slot: number): void;
  selected(slot: number): void;
}

export class FlameView {
  readonly app = new Application();
  renderer!: FlameRenderer;
  private scene: FlameScene | null = null;
  private view: FlameViewport = { startValue: 0, endValue: 1, widthPx: 1, heightPx: 1, scrollY: 0, resolution: 1 };
  private pending = false;
  zoomSlot = 0;
  /** CPU time of the last frame's walk over the layout (writing quads), in ms. */
  lastDrawMs = 0;
  /** Milliseconds spent in each drawn frame (draw + pixi render), for benchmarks. */
  readonly frameTimes: number[] = [];

  private host!: HTMLElement;
  private events: FlameViewEvents = { hover() {}, zoomed() {}, selected() {} };

  /**
   * Creates the WebGL context and the renderer. It needs no model, so the page starts it while the
   * model is still being decoded.
   */
  async init(): Promise<void> {
    const resolution = window.devicePixelRatio || 1;
    await this.app.init({
      preference: 'webgl',
      backgroundColor: 0xffffff,
      antialias: false,
      resolution,
      autoDensity: true,
      autoStart: false,
      sharedTicker: false,
    });
    this.app.ticker.stop();
    this.renderer = new FlameRenderer(resolution);
    this.app.stage.addChild(this.renderer.container);
    this.view.resolution = resolution;
  }

  /** Puts the canvas into the page, sized to `host`. */
  attach(host: HTMLElement, events: FlameViewEvents): void {
    this.host = host;
    this.events = events;
    this.app.resizeTo = host;
    host.appendChild(this.app.canvas);
    host.tabIndex = 0;
    new ResizeObserver(() => { this.app.resize(); this.requestRender(); }).observe(this.host);
    this.listen();
  }

  setScene(scene: FlameScene, keepZoom: boolean): void {
    const fresh = this.scene?.layout !== scene.layout;
    this.scene = scene;
    if (fresh && !keepZoom) this.zoomTo(0);
    else this.requestRender();
  }

  /** The value range across the width, [start, end). */
  get valueRange(): [number, number] {
    return [this.view.startValue, this.view.endValue];
  }

  get layout(): FlameLayout | null {
    return this.scene?.layout ?? null;
  }

  zoomTo(slot: number): void {
    const layout = this.scene?.layout;
    if (!layout || layout.length === 0) return;
    if (slot < 0 || slot >= layout.length) slot = 0;
    this.zoomSlot = slot;
    this.view.startValue = layout.start[slot];
    this.view.endValue = layout.start[slot] + layout.width[slot];
    const rowTop = layout.depth[slot] * rowHeight;
    if (slot === 0) this.view.scrollY = 0;
    else if (rowTop < this.view.scrollY || rowTop > this.view.scrollY + this.host.clientHeight - 3 * rowHeight) this.view.scrollY = Math.max(0, rowTop - 2 * rowHeight);
    this.clampScroll();
    this.events.zoomed(slot);
    this.requestRender();
  }

  /** Zoom by `factor` (< 1 zooms in) around a point given as a fraction of the width. */
  zoomBy(factor: number, anchor = 0.5): void {
    const layout = this.scene?.layout;
    if (!layout || layout.length === 0) return;
    const { startValue, endValue } = this.view;
    const span = endValue - startValue;
    const minSpan = Math.max(layout.total * 1e-12, 1e-9);
    const newSpan = Math.min(layout.total, Math.max(minSpan, span * factor));
    const at = startValue + span * anchor;
    this.setRange(at - newSpan * anchor, newSpan);
    this.clampScroll();
  }

  panBy(dxPx: number, dyPx: number): void {
    const span = this.view.endValue - this.view.startValue;
    this.setRange(this.view.startValue - (dxPx / this.view.widthPx) * span, span);
    this.view.scrollY -= dyPx;
    this.clampScroll();
    this.requestRender();
  }

  /**
   * Keeps the scroll within the rows the current range has anything on (a zoomed-in shallow frame
   * has few, however deep the whole tree is), so the panel never scrolls to nothing.
   */
  private clampScroll(): void {
    const layout = this.scene?.layout;
    const { startValue, endValue } = this.view;
    const widthPx = this.host.clientWidth;
    let maxScroll = 0;
    if (layout && layout.length > 0 && widthPx > 0) {
      const onePixel = (endValue - startValue) / (widthPx * this.view.resolution);
      const deepest = deepestVisibleRow(layout, startValue, endValue, onePixel);
      maxScroll = Math.max(0, (deepest + 2) * rowHeight - this.host.clientHeight);
    }
    this.view.scrollY = Math.max(0, Math.min(maxScroll, this.view.scrollY));
  }

  private setRange(start: number, span: number): void {
    const total = this.scene?.layout.total ?? 1;
    start = Math.max(0, Math.min(total - span, start));
    this.view.startValue = start;
    this.view.endValue = start + span;
    this.requestRender();
  }

  /** Screen rectangle (CSS px, relative to the canvas) of a slot, or null when not drawn. */
  slotRect(slot: number): { x: number; y: number; width: number; height: number } | null {
    const layout = this.scene?.layout;
    if (!layout || slot < 0 || slot >= layout.length) return null;
    const scale = this.host.clientWidth / (this.view.endValue - this.view.startValue);
    const x0 = Math.max(0, (layout.start[slot] - this.view.startValue) * scale);
    const x1 = Math.min(this.host.clientWidth, (layout.start[slot] + layout.width[slot] - this.view.startValue) * scale);
    if (x1 - x0 < 1) return null;
    return { x: x0, y: layout.depth[slot] * rowHeight - this.view.scrollY, width: x1 - x0, height: rowHeight - 1 };
  }

  slotAt(xPx: number, yPx: number): number {
    const layout = this.scene?.layout;
    if (!layout) return -1;
    const value = this.view.startValue + (xPx / this.host.clientWidth) * (this.view.endValue - this.view.startValue);
    return hitTest(layout, value, Math.floor((yPx + this.view.scrollY) / rowHeight));
  }

  requestRender(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.renderNow();
    });
  }

  renderNow(): void {
    if (!this.scene) return;
    const t0 = performance.now();
    this.view.widthPx = this.host.clientWidth;
    this.view.heightPx = this.host.clientHeight;
    if (this.renderer.draw(this.scene, this.view)) this.renderer.draw(this.scene, this.view);
    this.lastDrawMs = performance.now() - t0;
    this.app.render();
    this.frameTimes.push(performance.now() - t0);
    if (this.frameTimes.length > 1000) this.frameTimes.splice(0, 500);
  }

  get drawnCounts(): { rects: number; glyphs: number } {
    return { rects: this.renderer.lastRectCount, glyphs: this.renderer.lastGlyphCount };
  }

  private listen(): void {
    const host = this.host;
    let drag: { x: number; y: number; moved: boolean } | null = null;
    const local = (e: MouseEvent) => {
      const r = host.getBoundingClientRect();
      return [e.clientX - r.left, e.clientY - r.top] as const;
    };
    host.addEventListener('pointerdown', (e) => {
      drag = { x: e.clientX, y: e.clientY, moved: false };
      host.setPointerCapture(e.pointerId);
      host.focus();
    });
    host.addEventListener('pointermove', (e) => {
      if (drag && (drag.moved || Math.abs(e.clientX - drag.x) + Math.abs(e.clientY - drag.y) > 4)) {
        this.panBy(e.clientX - drag.x, e.clientY - drag.y);
        drag = { x: e.clientX, y: e.clientY, moved: true };
        this.setHover(-1, e);
        return;
      }
      const [x, y] = local(e);
      this.setHover(this.slotAt(x, y), e);
    });
    host.addEventListener('pointerup', (e) => {
      const wasDrag = drag?.moved;
      drag = null;
      if (wasDrag) return;
      const [x, y] = local(e);
      const slot = this.slotAt(x, y);
      if (slot >= 0) {
        this.select(slot);
        this.zoomTo(slot);
      }
    });
    host.addEventListener('pointerleave', (e) => this.setHover(-1, e));
    host.addEventListener('wheel', (e) => {
      e.preventDefault();
      const [x] = local(e);
      if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) this.panBy(-(e.deltaX || e.deltaY), 0);
      else this.zoomBy(Math.exp(e.deltaY * 0.002), x / host.clientWidth);
    }, { passive: false });
    host.addEventListener('keydown', (e) => this.onKey(e));
  }

  private setHover(slot: number, e: MouseEvent): void {
    if (!this.scene) return;
    if (this.scene.hoverSlot !== slot) {
      this.scene.hoverSlot = slot;
      this.requestRender();
    }
    this.events.hover(slot, e.clientX, e.clientY);
  }

  select(slot: number): void {
    if (!this.scene) return;
    this.scene.selectedSlot = slot;
    this.events.selected(slot);
    this.requestRender();
  }

  /** Arrows move the selection (up: caller, down: widest callee, left/right: neighbours), Enter zooms. */
  private onKey(e: KeyboardEvent): void {
    const layout = this.scene?.layout;
    if (!layout || !this.scene) return;
    let slot = this.scene.selectedSlot >= 0 ? this.scene.selectedSlot : this.zoomSlot;
    const d = layout.depth[slot];
    switch (e.key) {
      case 'ArrowUp': {
        for (let i = slot - 1; i >= 0; i--) if (layout.depth[i] === d - 1) { slot = i; break; }
        break;
      }
      case 'ArrowDown':
        if (slot + 1 < layout.subtreeEnd[slot]) slot = slot + 1;
        break;
      case 'ArrowRight':
        for (let i = layout.subtreeEnd[slot]; i < layout.length && layout.depth[i] >= d; i = layout.subtreeEnd[i]) if (layout.depth[i] === d) { slot = i; break; }
        break;
      case 'ArrowLeft':
        for (let i = slot - 1; i >= 0 && layout.depth[i] >= d; i--) if (layout.depth[i] === d) { slot = i; break; }
        break;
      case 'Enter': this.zoomTo(slot); e.preventDefault(); return;
      case 'Escape': this.zoomTo(0); e.preventDefault(); return;
      case '+': case '=': this.zoomBy(0.8); return;
      case '-': this.zoomBy(1.25); return;
      default: return;
    }
    e.preventDefault();
    this.select(slot);
    const rect = this.slotRect(slot);
    if (!rect || rect.y < 0 || rect.y > this.host.clientHeight - rowHeight) this.zoomTo(slot);
  }
}
