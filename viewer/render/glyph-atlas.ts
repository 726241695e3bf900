// A texture of monospace glyphs (printable ASCII and an ellipsis) drawn once with Canvas 2D at the
// device pixel ratio, plus a white block for solid quads. Labels become one textured quad per
// character in a QuadBatch: no Text objects, nothing re-rasterised while zooming.
import { Texture } from 'pixi.js';

export const ellipsis = '\u2026';

export class GlyphAtlas {
  readonly texture: Texture;
  /** Advance of one character in CSS pixels (monospace). */
  readonly charWidth: number;
  readonly lineHeight: number;
  readonly solidUV: [number, number];
  private uv: Float32Array; // per char code slot: u0, v0, u1, v1
  private static readonly slots = 97; // 32..126, then the ellipsis, then '?' reuse

  constructor(fontSizePx: number, resolution: number) {
    const font = `${fontSizePx}px "DejaVu Sans Mono", Menlo, Consolas, "Liberation Mono", monospace`;
    const probe = document.createElement('canvas').getContext('2d')!;
    probe.font = font;
    this.charWidth = Math.max(1, probe.measureText('M').width);
    this.lineHeight = Math.ceil(fontSizePx * 1.3);
    const cellW = Math.ceil(this.charWidth * resolution) + 2;
    const cellH = Math.ceil(this.lineHeight * resolution) + 2;
    const columns = 16;
    const rows = Math.ceil((GlyphAtlas.slots + 1) / columns);
    const canvas = document.createElement('canvas');
    canvas.width = columns * cellW;
    canvas.height = rows * cellH;
    const ctx = canvas.getContext('2d')!;
    ctx.font = `${fontSizePx * resolution}px "DejaVu Sans Mono", Menlo, Consolas, "Liberation Mono", monospace`;
    ctx.fillStyle = '#fff';
    ctx.textBaseline = 'middle';
    this.uv = new Float32Array(GlyphAtlas.slots * 4);
    for (let s = 0; s < GlyphAtlas.slots; s++) {
      const ch = s < 95 ? String.fromCharCode(32 + s) : ellipsis;
      const cx = (s % columns) * cellW + 1, cy = Math.floor(s / columns) * cellH + 1;
      ctx.fillText(ch, cx, cy + (this.lineHeight * resolution) / 2);
      this.uv.set([cx / canvas.width, cy / canvas.height, (cx + this.charWidth * resolution) / canvas.width, (cy + this.lineHeight * resolution) / canvas.height], s * 4);
    }
    // The solid block sits in the last cell; sample its centre.
    const bx = (columns - 1) * cellW, by = (rows - 1) * cellH;
    ctx.fillRect(bx, by, cellW, cellH);
    this.solidUV = [(bx + cellW / 2) / canvas.width, (by + cellH / 2) / canvas.height];
    this.texture = Texture.from(canvas);
    // Glyphs are drawn at the atlas's own scale on whole device pixels: nearest sampling is exact
    // and far cheaper than linear filtering for a software rasteriser.
    this.texture.source.scaleMode = 'nearest';
  }

  /** Slot of a UTF-16 code unit: printable ASCII as is, the ellipsis, anything else as '?'. */
  slot(code: number): number {
    if (code >= 32 && code < 127) return code - 32;
    if (code === 0x2026) return 95;
    return 31; // '?'
  }

  u0(slot: number) { return this.uv[slot * 4]; }
  v0(slot: number) { return this.uv[slot * 4 + 1]; }
  u1(slot: number) { return this.uv[slot * 4 + 2]; }
  v1(slot: number) { return this.uv[slot * 4 + 3]; }
}
