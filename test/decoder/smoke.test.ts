import { describe, expect, it } from 'vitest';
import { SyntheticCapture, piecesOf } from '../support/synthetic-capture.js';
import { readCapture } from '../../collector/lib/reader/index.js';
import { DecodeSession } from '../../wasm/host/decode-session.js';
import { compiledDecoder } from '../../wasm/host/node-wasm.js';

describe('smoke', () => {
  it('decodes', async () => {
    const c = new SyntheticCapture();
    c.meta('pid', '42').thread(7).time(0, 1000);
    const pc = c.jsFunction('JS:~load /app/x.js:3:1', '/app/x.js', 3, 1);
    const s = c.stack([pc]);
    c.alloc(0x1000, 100, s).alloc(0x2000, 50, s).free(0x1000).time(1e6, 2000).map(0x100000, 8192, s).unmap(0x100000, 4096);
    const bytes = c.toBytes({ codec: 'lz4' });
    const reference = await readCapture(piecesOf(bytes), bytes.length);
    const session = await DecodeSession.create(await compiledDecoder());
    const model = await session.decode(piecesOf(bytes, 1000), bytes.length);
    expect(model).toEqual(reference);
  });
});
