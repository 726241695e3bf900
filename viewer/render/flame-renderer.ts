// Draws a FlameLayout through a viewport: one pass over the preorder arrays that skips every
// subtree narrower than a device pixel or outside the view, writing rectangles into one QuadBatch
// and label glyphs (only where a few characters fit) into another. Coordinates are computed in
// float64 and only the on-screen result goes to float32, so deep zoom stays exact.
import { Container } from 'pixi.js';
import type { FlameLayout } from '../model/flame-layout.js';
import { QuadBatch } from './quad-batch.js';
import { ellipsis, GlyphAtlas } from './glyph-atlas.js';

export interface FlameViewport {
  /** Value range (bytes or counts) shown across the width. */
  startValue: number;
  endValue: number;
  widthPx: number;
  heightPx: number;
  scrollY: number;
  resolution: number;
}

export interface FlameScene {
  layout: FlameLayout;
  /** Fill colour per preorder slot, 0xAABBGGRR. */
  fill: Uint32Array;
  label(slot: number): string;
  /** 1 per slot matching the search, or null when there is no search. */
  matched: Uint8Array | null;
  hoverSlot: number;
  selectedSlot: number;
}

export const rowHeight = 18;
const textColour = 0xff1a1a1a;
const matchColour = 0xffd43bd4; // magenta: stands out from every kind colour
const outlineColour = 0xff000000;

/** Blend a colour towards light grey, for what the search did not match. */
function dim(rgba: number): number {
  const r = rgba & 255, g = (rgba >>> 8) & 255, b = (rgba >>> 16) & 255;
  return ((0xff << 24) | ((((b + 3 * 225) >> 2) & 255) << 16) | ((((g + 3 * 225) >> 2) & 255) << 8) | (((r + 3 * 225) >> 2) & 255)) >>> 0;
}

function lighten(rgba: number): number {
  const r = rgba & 255, g = (rgba >>> 8) & 255, b = (rgba >>> 16) & 255;
  return ((0xff << 24) | (((b + 255) >> 1) << 16) | (((g + 255) >> 1) << 8) | ((r + 255) >> 1)) >>> 0;
}

export class FlameRenderer {
  readonly container = new Container();
  readonly atlas: GlyphAtlas;
  readonly rects: QuadBatch;
  readonly glyphs: QuadBatch;
  // Per row, a run of adjacent slivers (< 2 device px) being merged into one rectangle.
  private runStart = new Float64Array(64);
  private runEnd = new Float64Array(64);
  private runColour = new Uint32Array(64);
  private runOpen = new Uint8Array(64);
  /** Figures of the last frame, for benchmarks and tests. */
  lastRectCount = 0;
  lastGlyphCount = 0;

  constructor(resolution: number, initialRects = 1 << 15, initialGlyphs = 1 << 14) {
    this.atlas = new GlyphAtlas(11, resolution);
    this.rects = new QuadBatch(initialRects, null, this.atlas.solidUV);
    this.glyphs = new QuadBatch(initialGlyphs, this.atlas.texture, this.atlas.solidUV);
    // Rectangles are opaque: no blending saves fill rate on software rasterisers (SwiftShader).
    this.rects.mesh.state.blend = false;
    this.container.addChild(this.rects.mesh, this.glyphs.mesh);
  }

  /** Draws one frame; returns true when a batch overflowed and grew, so the frame should be drawn again. */
  draw(scene: FlameScene, view: FlameViewport): boolean {
    const { layout, fill, matched } = scene;
    const { start, width, depth, subtreeEnd } = layout;
    const rects = this.rects, glyphs = this.glyphs, atlas = this.atlas;
    rects.begin();
    glyphs.begin();
    const res = view.resolution;
    const minWidth = 1 / res;
    const scale = view.widthPx / (view.endValue - view.startValue);
    const left = view.startValue;
    const widthPx = view.widthPx, heightPx = view.heightPx, scrollY = view.scrollY;
    const charWidth = atlas.charWidth;
    const minLabelWidth = charWidth * 3 + 6;
    const glyphTop = (rowHeight - 1 - atlas.lineHeight) / 2;
    // Slivers narrower than two device pixels are merged with their neighbours on the same row:
    // at that size no one tells them apart, and a software rasteriser pays per primitive.
    const sliver = 2 / res;
    if (this.runOpen.length <= layout.maxDepth) {
      const size = layout.maxDepth + 64;
      this.runStart = new Float64Array(size);
      this.runEnd = new Float64Array(size);
      this.runColour = new Uint32Array(size);
      this.runOpen = new Uint8Array(size);
    }
    const runStart = this.runStart, runEnd = this.runEnd, runColour = this.runColour, runOpen = this.runOpen;
    runOpen.fill(0);
    let i = 0;
    const length = layout.length;
    while (i < length) {
      const y = depth[i] * rowHeight - scrollY;
      if (y >= heightPx) { i = subtreeEnd[i]; continue; }
      const w = width[i] * scale;
      let x0 = (start[i] - left) * scale;
      let x1 = x0 + w;
      if (w < minWidth || x0 >= widthPx || x1 <= 0) { i = subtreeEnd[i]; continue; }
      if (y + rowHeight > 0) {
        if (x0 < -1) x0 = -1;
        if (x1 > widthPx + 1) x1 = widthPx + 1;
        const shown = x1 - x0;
        // A one-pixel gap separates neighbours once they are wide enough to spare it.
        const drawn = shown > 4 ? shown - minWidth : shown;
        let colour = fill[i];
        if (matched) colour = matched[i] ? matchColour : dim(colour);
        if (i === scene.hoverSlot) colour = lighten(colour);
        const d = depth[i];
        if (shown < sliver) {
          if (runOpen[d] && x0 <= runEnd[d] + minWidth && (colour === matchColour) === (runColour[d] === matchColour)) {
            runEnd[d] = x1;
          } else {
            if (runOpen[d]) rects.rect(runStart[d], y, runEnd[d] - runStart[d], rowHeight - 1, runColour[d]);
            runOpen[d] = 1;
            runStart[d] = x0;
            runEnd[d] = x1;
            runColour[d] = colour;
          }
          i++;
          continue;
        }
        rects.rect(x0, y, drawn, rowHeight - 1, colour);
        if (shown >= minLabelWidth) {
          const text = scene.label(i);
          const fits = Math.floor((shown - 6) / charWidth);
          const n = text.length <= fits ? text.length : fits - 1;
          let gx = Math.round((Math.max(x0, 0) + 3) * res) / res;
          const gy = Math.round((y + glyphTop) * res) / res;
          for (let c = 0; c < n; c++, gx += charWidth) {
            const s = atlas.slot(text.charCodeAt(c));
            if (s !== 0) glyphs.quad(gx, gy, charWidth, atlas.lineHeight, atlas.u0(s), atlas.v0(s), atlas.u1(s), atlas.v1(s), textColour);
          }
          if (n < text.length) {
            const s = atlas.slot(ellipsis.charCodeAt(0));
            glyphs.quad(gx, gy, charWidth, atlas.lineHeight, atlas.u0(s), atlas.v0(s), atlas.u1(s), atlas.v1(s), textColour);
          }
        }
      }
      i++;
    }
    for (let d = 0; d <= layout.maxDepth; d++) {
      if (runOpen[d]) rects.rect(runStart[d], d * rowHeight - scrollY, runEnd[d] - runStart[d], rowHeight - 1, runColour[d]);
    }
    this.drawOutline(scene, view, scale);
    this.lastRectCount = rects.count;
    this.lastGlyphCount = glyphs.count;
    rects.commit();
    glyphs.commit();
    const grewRects = rects.grow();
    const grewGlyphs = glyphs.grow();
    return grewRects || grewGlyphs;
  }

  private drawOutline(scene: FlameScene, view: FlameViewport, scale: number): void {
    const slot = scene.selectedSlot;
    if (slot < 0 || slot >= scene.layout.length) return;
    const y = scene.layout.depth[slot] * rowHeight - view.scrollY;
    let x0 = (scene.layout.start[slot] - view.startValue) * scale;
    let x1 = x0 + scene.layout.width[slot] * scale;
    if (x1 < 0 || x0 > view.widthPx) return;
    x0 = Math.max(x0, 0);
    x1 = Math.min(x1, view.widthPx);
    const t = 2, h = rowHeight - 1;
    this.glyphs.rect(x0, y, x1 - x0, t, outlineColour);
    this.glyphs.rect(x0, y + h - t, x1 - x0, t, outlineColour);
    this.glyphs.rect(x0, y, t, h, outlineColour);
    this.glyphs.rect(x1 - t, y, t, h, outlineColour);
  }
}
