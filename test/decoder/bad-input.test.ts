// Every kind of bad input ends with one precise CaptureError (what, file offset, chunk), and a
// capture cut anywhere yields what it holds up to the cut, marked truncated.
import { describe, expect, it } from 'vitest';
import { CaptureError } from '../../collector/lib/reader/capture-error.js';
import { SyntheticCapture } from '../support/synthetic-capture.js';
import { chunksOf, resealChecksum } from './capture-surgery.js';
import { engineDecode, outcome, referenceDecode } from './decode-bytes.js';
import { randomCapture, seededRandom } from './random-capture.js';

async function engineError(bytes: Uint8Array): Promise<CaptureError> {
  const result = await outcome(() => engineDecode(bytes));
  expect(result).toBeInstanceOf(CaptureError);
  return result as CaptureError;
}

function smallCapture(): SyntheticCapture {
  const capture = new SyntheticCapture();
  capture.thread(1).time(0, 0);
  const stack = capture.stack([capture.jsFunction('JS:~f /a.js:1:1', '/a.js', 1, 1)]);
  capture.alloc(0x1000, 10, stack).free(0x1000);
  return capture;
}

describe('bad input', () => {
  it('an empty file is not a capture', async () => {
    const error = await engineError(new Uint8Array(0));
    expect(error.message).toMatch(/empty file/);
    expect(error.offset).toBe(0);
  });

  it('a file with another magic is not a capture', async () => {
    const error = await engineError(new TextEncoder().encode('PK\x03\x04 definitely a zip file'));
    expect(error.message).toMatch(/not a memview capture/);
  });

  it('a future format version is refused, naming both versions', async () => {
    const error = await engineError(smallCapture().toBytes({ formatVersion: 7 }));
    expect(error.message).toBe('capture format version 7, this reader understands versions 5 to 6');
    expect(error.offset).toBe(8);
  });

  // Version 1 freed by address; version 2 wrote every new block's address, never a reused block;
  // version 3 wrote new blocks' addresses among the records; version 4 had no references to the
  // block a new one follows, and so a different tag for written addresses.
  it.each([1, 2, 3, 4])('a version %i capture is refused, naming both versions', async (version) => {
    const error = await engineError(smallCapture().toBytes({ formatVersion: version }));
    expect(error.message).toBe(`capture format version ${version}, this reader understands versions 5 to 6`);
  });

  it('a FREE naming a block already released is corrupt, in both readers, at its offset', async () => {
    const capture = smallCapture(); // its one block, ordinal 0, is allocated and freed
    capture.raw([0x12, 0]); // FREE, kind free: chunk ordinal delta 0, block 0 again
    const bytes = capture.toBytes();
    const [chunk] = chunksOf(bytes);
    const error = await engineError(bytes);
    expect(error.message).toMatch(/chunk 0 at offset 16: FREE record: names a heap block that does not exist or was already released/);
    expect(error.offset).toBe(chunk.payloadOffset + chunk.storedSize - 2);
    const reference = await outcome(() => referenceDecode(bytes));
    expect((reference as Error).message).toMatch(/FREE record: names heap block 0, which was already released/);
  });

  it('a THREAD record naming a slot the chunk has not filled is corrupt, in both readers', async () => {
    const capture = smallCapture(); // thread 1 took slot 1
    capture.raw([0x06 | (2 << 4)]); // THREAD, slot 2
    const bytes = capture.toBytes();
    expect((await engineError(bytes)).message).toMatch(/THREAD record/);
    expect(((await outcome(() => referenceDecode(bytes))) as Error).message).toMatch(/THREAD record: thread slot 2 is not defined in this chunk \(1 so far\)/);
  });

    it('a FREE or REALLOC naming a block not yet allocated is corrupt', async () => {
    const free = smallCapture();
    free.raw([0x12, 4]); // chunk ordinal 0 + 2: only blocks 0 exists
    expect((await engineError(free.toBytes())).message).toMatch(/FREE record: names a heap block that does not exist/);
    expect(((await outcome(() => referenceDecode(free.toBytes()))) as Error).message).toMatch(/names heap block 2, but only 1 blocks exist/);
    const realloc = smallCapture();
    realloc.raw([0x03, 1, 0]).rawSize([8]).rawAddress([0]); // REALLOC of chunk ordinal -1: before the first block
    expect((await engineError(realloc.toBytes())).message).toMatch(/REALLOC record: names a heap block that does not exist/);
  });

  it('a free of a block allocated before tracing (unknown) changes nothing, in both readers', async () => {
    const capture = smallCapture();
    const stack = capture.stack([0x500010]);
    capture.alloc(0x3000, 64, stack);
    capture.free(0x7777, 2); // never allocated: written as unknown, kind 2 + 8
    const bytes = capture.toBytes();
    const engine = await engineDecode(bytes);
    expect(engine.stats.leakedBytes).toBe(64);
    expect(engine).toEqual(await referenceDecode(bytes));
  });

  it('random bytes after a valid header: bad chunk magic at offset 16, chunk 0', async () => {
    const bytes = smallCapture().toBytes();
    const random = seededRandom(3);
    for (let i = 16; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
    const error = await engineError(bytes);
    expect(error.message).toMatch(/chunk 0 at offset 16: bad chunk magic/);
    expect(error.chunk).toBe(0);
  });

  it('a flipped payload bit is a checksum mismatch in that chunk', async () => {
    const bytes = smallCapture().toBytes();
    const [chunk] = chunksOf(bytes);
    bytes[chunk.payloadOffset + 3] ^= 0x10;
    const error = await engineError(bytes);
    expect(error.message).toMatch(/chunk 0 at offset 16: checksum mismatch/);
  });

  it('a zeroed record is reported at its exact file offset', async () => {
    const capture = smallCapture();
    capture.raw([0, 0, 0]);
    const bytes = capture.toBytes();
    const [chunk] = chunksOf(bytes);
    const error = await engineError(bytes);
    expect(error.message).toMatch(/record code 0/);
    expect(error.offset).toBe(chunk.payloadOffset + chunk.storedSize - 3);
    expect(error.chunk).toBe(0);
  });

  it('a schedule of record streams that does not add up to the records is corrupt, in both readers', async () => {
    const bytes = smallCapture().toBytes({ streams: true });
    const [chunk] = chunksOf(bytes);
    // Address section (length 3, then 3 bytes), size section (length 1, then 1 byte), then the schedule.
    const scheduleLength = chunk.payloadOffset + 6;
    expect(bytes[scheduleLength]).toBeGreaterThan(1);
    bytes[scheduleLength + bytes[scheduleLength]] += 1; // the last run claims one byte more than there is
    resealChecksum(bytes, chunk);
    const error = await engineError(bytes);
    expect(error.message).toMatch(/chunk 0 at offset 16: the schedule of record streams does not match the chunk's records/);
    const reference = await outcome(() => referenceDecode(bytes));
    expect(reference).toBeInstanceOf(CaptureError);
    expect((reference as Error).message).toMatch(/the schedule's runs hold \d+ bytes of records, the chunk \d+/);
  });

  it('a bad record in a chunk of record streams is named by its byte in the payload, in both readers', async () => {
    const capture = new SyntheticCapture();
    const stack = capture.stack([capture.jsFunction('JS:~f /a.js:1:1', '/a.js', 1, 1)]);
    capture.thread(1).alloc(0x1000, 10, stack).thread(2).alloc(0x2000, 20, stack).thread(1).alloc(0x3000, 30, stack)
      .thread(2).free(0x2000).thread(1).raw([0x00]);
    const bytes = capture.toBytes({ streams: true });
    const engine = await engineError(bytes);
    const reference = await outcome(() => referenceDecode(bytes));
    expect(engine.message).toMatch(/record code 0 \(zeroed or corrupt data\) \(file offset \d+\)/);
    expect(reference).toBeInstanceOf(CaptureError);
    expect((reference as CaptureError).offset).toBe(engine.offset);
    // Stored, so the file offset is the payload's byte: the zero the bad record starts with, the
    // last byte of thread 1's stream, which comes before thread 2's.
    expect(bytes[engine.offset]).toBe(0);
    const [chunk] = chunksOf(bytes);
    expect(engine.offset).toBeLessThan(chunk.payloadOffset + chunk.storedSize - 1);
  });

  it('an address section longer than its chunk is corrupt, in both readers', async () => {
    const bytes = smallCapture().toBytes();
    const [chunk] = chunksOf(bytes);
    expect(bytes[chunk.payloadOffset]).toBe(3); // the one new block's address, 0x1000, takes 3 bytes
    bytes[chunk.payloadOffset] = 0x7f; // 127 bytes: more than the whole payload
    resealChecksum(bytes, chunk);
    const error = await engineError(bytes);
    expect(error.message).toMatch(/chunk 0 at offset 16: the address section runs past the end of the chunk/);
    expect(error.offset).toBe(chunk.payloadOffset);
    const reference = await outcome(() => referenceDecode(bytes));
    expect((reference as Error).message).toMatch(/the address section of 127 bytes runs past the end of the chunk/);
  });

  it('an address section that does not hold one address per new block is corrupt', async () => {
    const missing = smallCapture().raw([0x11, 0x00]).rawSize([0x0a]); // a second ALLOC, no second address
    expect(((await outcome(() => referenceDecode(missing.toBytes()))) as Error).message)
      .toMatch(/ALLOC record: the chunk's address section has no address left for this new block/);
    const extra = smallCapture().rawAddress([0x02]); // an address no ALLOC takes
    expect(((await outcome(() => referenceDecode(extra.toBytes()))) as Error).message)
      .toMatch(/1 bytes of the address section are left over: more addresses than new blocks/);
    // The aggregating engine reads no address: what the records say is all it reports.
    expect((await engineDecode(extra.toBytes())).stats.totalAllocations).toBe(1);
  });

  it('a size section that does not hold one size per new block is corrupt, in both readers', async () => {
    const missing = smallCapture().raw([0x11, 0x00]).rawAddress([0x02]); // a second ALLOC, no second size
    expect(((await outcome(() => referenceDecode(missing.toBytes()))) as Error).message)
      .toMatch(/ALLOC record: the chunk's size section has no size left for this new block/);
    expect((await engineError(missing.toBytes())).message).toMatch(/the size section does not hold one size per new block/);
    const extra = smallCapture().rawSize([0x05]); // a size no ALLOC takes
    expect(((await outcome(() => referenceDecode(extra.toBytes()))) as Error).message)
      .toMatch(/1 bytes of the size section are left over: more sizes than new blocks/);
    expect((await engineError(extra.toBytes())).message).toMatch(/the size section does not hold one size per new block/);
  });

  it('an event naming an undefined stack is corrupt', async () => {
    const capture = smallCapture();
    capture.alloc(0x2000, 1, 99);
    const error = await engineError(capture.toBytes());
    expect(error.message).toMatch(/ALLOC record: stack id is not defined/);
  });

  it('a damaged LZ4 block is reported in its chunk', async () => {
    const bytes = smallCapture().toBytes({ codec: 'lz4' });
    const [chunk] = chunksOf(bytes);
    bytes.fill(0xff, chunk.payloadOffset, chunk.payloadOffset + chunk.storedSize);
    resealChecksum(bytes, chunk);
    const error = await engineError(bytes);
    expect(error.message).toMatch(/chunk 0 at offset 16: .*LZ4/);
  });

  it('a damaged DEFLATE stream is reported in its chunk, by both readers', async () => {
    const bytes = smallCapture().toBytes({ codec: 'deflate' });
    const [chunk] = chunksOf(bytes);
    bytes.fill(0xff, chunk.payloadOffset, chunk.payloadOffset + chunk.storedSize);
    resealChecksum(bytes, chunk);
    expect((await engineError(bytes)).message).toMatch(/chunk 0 at offset 16: malformed DEFLATE stream/);
    const reference = await outcome(() => referenceDecode(bytes));
    expect(reference).toBeInstanceOf(CaptureError);
    expect((reference as CaptureError).message).toMatch(/chunk 0 at offset 16: malformed DEFLATE stream/);
  });

  it('a damaged trailer loses no chunk before it: both readers read it as a capture without its trailer', async () => {
    // One bad byte in the 31-byte trailer made every command refuse the whole capture.
    const bytes = randomCapture(103, { events: 400, codec: 'deflate' });
    const chunks = chunksOf(bytes);
    const trailer = chunks[chunks.length - 1];
    const withoutTrailer = bytes.slice(0, trailer.headerOffset);
    const damaged = bytes.slice();
    damaged[trailer.payloadOffset + 3] ^= 0x5a;
    const engine = await engineDecode(damaged);
    expect(engine).toEqual(await referenceDecode(damaged));
    expect(engine.meta).toMatchObject({ truncated: true, trailerDamaged: true, dataChunks: chunks.length - 1 });
    // The same figures as the capture cut just before its trailer.
    const cut = await engineDecode(withoutTrailer);
    expect(engine.stats).toEqual(cut.stats);
    expect(engine.views).toEqual(cut.views);
  });

  it('a trailer that checks out but lists other chunks than the file has is still an error', async () => {
    const bytes = randomCapture(104, { events: 400, codec: 'stored' });
    const chunks = chunksOf(bytes);
    // Drop the first data chunk: the trailer (intact) still lists it.
    const first = chunks[0];
    const piece = new Uint8Array([...bytes.slice(0, first.headerOffset), ...bytes.slice(first.payloadOffset + first.storedSize)]);
    expect((await outcome(() => referenceDecode(piece)))).toBeInstanceOf(CaptureError);
    expect((await outcome(() => engineDecode(piece)))).toBeInstanceOf(CaptureError);
  });

  it('bytes after the trailer are an error', async () => {
    const bytes = smallCapture().toBytes();
    const error = await engineError(new Uint8Array([...bytes, 1, 2, 3]));
    expect(error.message).toMatch(/offset \d+: data after the trailer/);
    expect(error.offset).toBe(bytes.length);
  });

  it('a capture cut at any byte gives what the reference reader gives: the data up to the cut, marked truncated', async () => {
    for (const codec of ['stored', 'lz4', 'deflate'] as const) {
      const bytes = randomCapture(101, { events: 400, codec });
      const chunkEnds = chunksOf(bytes).map((chunk) => chunk.payloadOffset + chunk.storedSize);
      const cuts = new Set([0, 5, 16, 17, 40, ...chunkEnds, ...chunkEnds.map((end) => end - 1)]);
      for (let cut = 16; cut < bytes.length; cut += 37) cuts.add(cut);
      for (const cut of cuts) {
        const piece = bytes.slice(0, cut);
        const engine = await outcome(() => engineDecode(piece));
        const reference = await outcome(() => referenceDecode(piece));
        if (reference instanceof Error) {
          expect(engine, `cut at ${cut}`).toBeInstanceOf(CaptureError);
          expect((engine as CaptureError).offset, `cut at ${cut}`).toBe((reference as CaptureError).offset);
        } else {
          expect(engine, `cut at ${cut}`).toEqual(reference);
          expect(reference.meta.truncated).toBe(cut < bytes.length);
        }
      }
    }
  }, 60_000);

  it('a capture cut before its first chunk ended says so in both readers: no data chunk', async () => {
    const bytes = randomCapture(102, { events: 400, codec: 'lz4' });
    const [first] = chunksOf(bytes);
    const firstEnd = first.payloadOffset + first.storedSize;
    for (const cut of [16, 40, firstEnd - 1]) {
      const piece = bytes.slice(0, cut);
      const engine = await engineDecode(piece);
      expect(engine).toEqual(await referenceDecode(piece));
      expect(engine.meta, `cut at ${cut}`).toMatchObject({ truncated: true, dataChunks: 0 });
    }
    const engine = await engineDecode(bytes.slice(0, firstEnd));
    expect(engine.meta).toMatchObject({ truncated: true, dataChunks: 1 });
    expect((await engineDecode(bytes)).meta).toMatchObject({ truncated: false, dataChunks: chunksOf(bytes).length - 1 });
  });
});
