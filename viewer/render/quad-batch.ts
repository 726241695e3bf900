// Many coloured or textured rectangles in one draw call: one pixi Mesh with our own shader over a
// preallocated dynamic vertex buffer (4 vertices per quad: x, y, u, v as float32 and the colour as
// unorm8x4) and a static index buffer. Each frame the caller writes quads from the start and
// `commit()` uploads only the bytes written; nothing is allocated per frame.
import { Buffer, BufferUsage, Geometry, GlProgram, Mesh, Shader, type Texture } from 'pixi.js';

const vertex = `
in vec2 aPosition;
in vec2 aUV;
in vec4 aColor;
out vec2 vUV;
out vec4 vColor;
uniform mat3 uProjectionMatrix;
uniform mat3 uWorldTransformMatrix;
uniform mat3 uTransformMatrix;
void main() {
  mat3 mvp = uProjectionMatrix * uWorldTransformMatrix * uTransformMatrix;
  gl_Position = vec4((mvp * vec3(aPosition, 1.0)).xy, 0.0, 1.0);
  vUV = aUV;
  vColor = aColor;
}`;

// Glyphs: the atlas holds white glyphs (coverage in alpha); output is premultiplied, as pixi's
// normal blend mode expects.
const texturedFragment = `
in vec2 vUV;
in vec4 vColor;
uniform sampler2D uTexture;
out vec4 finalColor;
void main() {
  float coverage = texture(uTexture, vUV).a;
  finalColor = vec4(vColor.rgb, 1.0) * (vColor.a * coverage);
}`;

// Solid quads never touch the texture: a software rasteriser pays for every texel fetched.
const solidFragment = `
in vec2 vUV;
in vec4 vColor;
out vec4 finalColor;
void main() {
  finalColor = vColor;
}`;

const floatsPerVertex = 5; // x, y, u, v, rgba (the colour's 4 bytes live in the 5th float slot)

export class QuadBatch {
  readonly mesh: Mesh<Geometry, Shader>;
  capacity: number;
  /** Set when a frame wanted more quads than fit; `grow()` then doubles the buffers. */
  overflowed = false;
  private floats: Float32Array;
  private words: Uint32Array;
  private buffer: Buffer;
  private geometry: Geometry;
  count = 0;
  // Where plain quads sample the atlas (a white texel).
  private solidU: number;
  private solidV: number;

  /** `texture` null: solid quads only (`rect`); otherwise textured quads (`quad`) from that atlas. */
  constructor(capacity: number, texture: Texture | null, solidUV: [number, number], private readonly maxCapacity = 1 << 21) {
    this.capacity = capacity;
    [this.solidU, this.solidV] = solidUV;
    ({ floats: this.floats, words: this.words, buffer: this.buffer, geometry: this.geometry } = QuadBatch.allocate(capacity));
    const shader = texture
      ? new Shader({ glProgram: new GlProgram({ vertex, fragment: texturedFragment, name: 'memview-glyphs' }), resources: { uTexture: texture.source } })
      : new Shader({ glProgram: new GlProgram({ vertex, fragment: solidFragment, name: 'memview-rects' }), resources: {} });
    this.mesh = new Mesh({ geometry: this.geometry, shader });
    this.mesh.eventMode = 'none';
    this.mesh.visible = false;
  }

  private static allocate(capacity: number) {
    const floats = new Float32Array(capacity * 4 * floatsPerVertex);
    const words = new Uint32Array(floats.buffer);
    const buffer = new Buffer({ data: floats, usage: BufferUsage.VERTEX | BufferUsage.COPY_DST, label: 'quad-batch-vertices' });
    const indices = new Uint32Array(capacity * 6);
    for (let q = 0; q < capacity; q++) {
      const v = q * 4, o = q * 6;
      indices[o] = v; indices[o + 1] = v + 1; indices[o + 2] = v + 2;
      indices[o + 3] = v; indices[o + 4] = v + 2; indices[o + 5] = v + 3;
    }
    const stride = floatsPerVertex * 4;
    const geometry = new Geometry({
      attributes: {
        aPosition: { buffer, format: 'float32x2', stride, offset: 0 },
        aUV: { buffer, format: 'float32x2', stride, offset: 8 },
        aColor: { buffer, format: 'unorm8x4', stride, offset: 16 },
      },
      indexBuffer: new Buffer({ data: indices, usage: BufferUsage.INDEX }),
    });
    return { floats, words, buffer, geometry };
  }

  /** Doubles the capacity after a frame overflowed (rare: the buffers start big enough for most views). */
  grow(): boolean {
    if (!this.overflowed || this.capacity >= this.maxCapacity) return false;
    this.overflowed = false;
    const old = this.geometry;
    this.capacity = Math.min(this.maxCapacity, this.capacity * 2);
    ({ floats: this.floats, words: this.words, buffer: this.buffer, geometry: this.geometry } = QuadBatch.allocate(this.capacity));
    this.mesh.geometry = this.geometry;
    old.destroy(true);
    return true;
  }

  begin(): void {
    this.count = 0;
  }

  /** A solid quad; `rgba` is 0xAABBGGRR (little-endian bytes r, g, b, a). */
  rect(x: number, y: number, w: number, h: number, rgba: number): void {
    this.quad(x, y, w, h, this.solidU, this.solidV, this.solidU, this.solidV, rgba);
  }

  quad(x: number, y: number, w: number, h: number, u0: number, v0: number, u1: number, v1: number, rgba: number): void {
    if (this.count >= this.capacity) { this.overflowed = true; return; }
    let o = this.count * 4 * floatsPerVertex;
    const f = this.floats, c = this.words;
    f[o] = x; f[o + 1] = y; f[o + 2] = u0; f[o + 3] = v0; c[o + 4] = rgba; o += floatsPerVertex;
    f[o] = x + w; f[o + 1] = y; f[o + 2] = u1; f[o + 3] = v0; c[o + 4] = rgba; o += floatsPerVertex;
    f[o] = x + w; f[o + 1] = y + h; f[o + 2] = u1; f[o + 3] = v1; c[o + 4] = rgba; o += floatsPerVertex;
    f[o] = x; f[o + 1] = y + h; f[o + 2] = u0; f[o + 3] = v1; c[o + 4] = rgba;
    this.count++;
  }

  /** Uploads what was written. An empty batch is hidden: indexCount 0 would mean "draw all". */
  commit(): void {
    if (this.count === 0) {
      this.mesh.visible = false;
      return;
    }
    this.buffer.update(this.count * 4 * floatsPerVertex * 4);
    this.geometry.indexCount = this.count * 6;
    this.mesh.visible = true;
  }
}
