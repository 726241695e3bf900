// How the reader treats whole files: complete, cut off by a killed process, or damaged.
// A damaged file is a CaptureError naming the offset and chunk; a cut-off one still reads.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CaptureError, readCapture, readCaptureFile } from '../../collector/lib/reader/index.js';
import { bytesByFunction, readSynthetic } from '../support/model-queries.js';
import { chunkBytes, concat, piecesOf, SyntheticCapture } from '../support/synthetic-capture.js';
import { readEvents } from '../collector/trace-helpers.js';
import { programCapture } from './program-fixture.js';

/** A capture of three chunks, each allocating 100 bytes in load(). */
function threeChunkCapture(): SyntheticCapture {
  const { capture, stacks } = programCapture();
  for (let i = 0; i < 3; i++) capture.time(i * 1e6, 5000).alloc(0x1000 * (i + 1), 100, stacks.load).endChunk();
  return capture;
}

async function read(bytes: Uint8Array, pieceBytes = 5) {
  return readCapture(piecesOf(bytes, pieceBytes), bytes.length);
}

async function readError(bytes: Uint8Array): Promise<CaptureError> {
  const error = await read(bytes).then(() => undefined, (thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(CaptureError);
  return error as CaptureError;
}

/** File offsets of the chunk headers after the 16-byte file header. */
function chunkOffsets(bytes: Uint8Array): number[] {
  const offsets: number[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let offset = 16; offset + 24 <= bytes.length; offset += 24 + view.getUint32(offset + 8, true)) offsets.push(offset);
  return offsets;
}

describe('a complete capture', () => {
  it('reads the same whatever the size of the pieces the file arrives in', async () => {
    const bytes = threeChunkCapture().toBytes({ codec: 'lz4' });
    const whole = await read(bytes, bytes.length);
    const bytewise = await read(bytes, 1);
    expect(bytewise).toEqual(whole);
    expect(whole.meta.truncated).toBe(false);
    expect(whole.stats.leakedBytes).toBe(300);
  });

  it('reads the same stored, LZ4- or DEFLATE-compressed', async () => {
    const stored = await read(threeChunkCapture().toBytes({ codec: 'stored' }));
    expect(await read(threeChunkCapture().toBytes({ codec: 'lz4' }))).toEqual(stored);
    expect(await read(threeChunkCapture().toBytes({ codec: 'deflate' }))).toEqual(stored);
  });

  it('reads from a file path and reports progress up to the file size', async () => {
    const bytes = threeChunkCapture().toBytes();
    const path = join(mkdtempSync(join(tmpdir(), 'memview-reader-')), 'capture.bin');
    writeFileSync(path, bytes);
    const progress: [number, number][] = [];
    const model = await readCaptureFile(path, { onProgress: (done, total) => progress.push([done, total]) });
    expect(model.stats.totalAllocations).toBe(3);
    expect(progress.at(-1)).toEqual([bytes.length, bytes.length]);
  });

  it('rejects bytes after the trailer', async () => {
    const bytes = concat([threeChunkCapture().toBytes(), Uint8Array.of(1, 2, 3)]);
    expect((await readError(bytes)).message).toMatch(/after the trailer/);
  });
});

describe('a capture cut off by a killed process', () => {
  it('without its trailer is truncated but keeps every complete chunk', async () => {
    const model = await read(threeChunkCapture().toBytes({ trailer: false }));
    expect(model.meta.truncated).toBe(true);
    expect(model.stats.truncated).toBe(true);
    expect(bytesByFunction(model, 'leaks')).toEqual({ load: 300 });
  });

  it('drops a last chunk cut in the middle of its payload', async () => {
    const bytes = threeChunkCapture().toBytes({ trailer: false });
    const model = await read(bytes.subarray(0, bytes.length - 3));
    expect(model.meta.truncated).toBe(true);
    expect(bytesByFunction(model, 'leaks')).toEqual({ load: 200 });
  });

  it('drops a last chunk cut in the middle of its header', async () => {
    const bytes = threeChunkCapture().toBytes({ trailer: false });
    const lastChunk = chunkOffsets(bytes).at(-1)!;
    const model = await read(bytes.subarray(0, lastChunk + 10));
    expect(bytesByFunction(model, 'leaks')).toEqual({ load: 200 });
  });

  it('with only its file header is an empty, truncated capture', async () => {
    const model = await read(new SyntheticCapture().toBytes({ trailer: false }));
    expect(model.meta.truncated).toBe(true);
    expect(model.stats.totalAllocations).toBe(0);
    expect(model.tree.count).toBe(1);
  });
});

describe('a damaged file', () => {
  it('with a flipped payload byte fails the checksum, naming the chunk and its offset', async () => {
    const bytes = threeChunkCapture().toBytes({ codec: 'lz4' });
    const second = chunkOffsets(bytes)[1];
    bytes[second + 24 + 2] ^= 0x40;
    const error = await readError(bytes);
    expect(error.chunk).toBe(1);
    expect(error.offset).toBe(second);
    expect(error.message).toMatch(new RegExp(`^chunk 1 at offset ${second}: checksum mismatch \\(header 0x[0-9a-f]{8}, payload 0x[0-9a-f]{8}\\)$`));
  });

  it('with a damaged chunk magic says so', async () => {
    const bytes = threeChunkCapture().toBytes();
    const third = chunkOffsets(bytes)[2];
    bytes[third] = 0x58;
    const error = await readError(bytes);
    expect([error.chunk, error.offset]).toEqual([2, third]);
    expect(error.message).toBe(`chunk 2 at offset ${third}: bad chunk magic "XVCK" (expected "MVCK")`);
  });

  it('with a chunk claiming more than 16 MiB is refused before reading it', async () => {
    const header = new SyntheticCapture().toBytes({ trailer: false });
    const hugeChunk = chunkBytes(1, 0, new Uint8Array(0), 0);
    new DataView(hugeChunk.buffer).setUint32(12, (16 << 20) + 1, true);
    const error = await readError(concat([header, hugeChunk]));
    expect(error.message).toMatch(/raw size 16777217 bytes is over the 16777216-byte limit/);
  });

  it('with a corrupt LZ4 block (valid checksum) names the problem', async () => {
    const header = new SyntheticCapture().toBytes({ trailer: false });
    const block = Uint8Array.of(0x10, 0x61, 0x05, 0x00, 0x00); // offset 5 before the output start
    const error = await readError(concat([header, chunkBytes(1, 1, block, 10)]));
    expect(error.chunk).toBe(0);
    expect(error.offset).toBe(16 + 24 + 2);
    expect(error.message).toMatch(/LZ4 match offset 5 reaches before the start of the output/);
  });

  it('with a DEFLATE stream shorter than its raw size (valid checksum) names the problem', async () => {
    const header = new SyntheticCapture().toBytes({ trailer: false });
    const stream = Uint8Array.of(0x01, 0x03, 0x00, 0xfc, 0xff, 0, 1, 2); // a stored block of 3 bytes
    const error = await readError(concat([header, chunkBytes(1, 2, stream, 10)]));
    expect(error.chunk).toBe(0);
    expect(error.message).toMatch(/DEFLATE stream holds 3 bytes, the header says 10/);
  });

  it('with a DEFLATE stream longer than its raw size stops inflating at the raw size', async () => {
    const header = new SyntheticCapture().toBytes({ trailer: false });
    // 64 MiB of zeros in about 64 kB, under a header that says 100 kB: a stored size the header
    // allows, whose stream would inflate 650 times past it.
    const stream = deflateRawSync(new Uint8Array(64 << 20));
    const error = await readError(concat([header, chunkBytes(1, 2, stream, 100_000)]));
    expect(error.message).toMatch(/DEFLATE stream holds more than 100001 bytes, the header says 100000/);
  });

  it('with zeroed records (valid checksum) is corrupt, not an empty capture', async () => {
    const header = new SyntheticCapture().toBytes({ trailer: false });
    const error = await readError(concat([header, chunkBytes(1, 0, new Uint8Array(8), 8)]));
    // The first three zeros read as empty address, size and schedule sections; the records start at the fourth.
    expect(error.message).toBe('chunk 0 at offset 16: record code 0 (zeroed or corrupt data) (file offset 43)');
    expect(error.offset).toBe(43);
  });

  it('with an event on a stack that was never defined names the record', async () => {
    const capture = new SyntheticCapture().thread(1).alloc(0x1000, 10, 7);
    const error = await readError(capture.toBytes());
    expect(error.message).toMatch(/ALLOC record: stack id 7 is not defined \(0 stacks so far\)/);
  });

  it('with a record cut short by the end of its chunk says so', async () => {
    const capture = new SyntheticCapture().thread(1).raw([0x01, 0x80]).rawSize([1]);
    const error = await readError(capture.toBytes());
    expect(error.message).toMatch(/ALLOC record: record runs past the end of the chunk/);
  });

  it('with an overlong varint says so', async () => {
    const capture = new SyntheticCapture().raw([0x07, ...new Array(10).fill(0xff), 0x01]);
    expect((await readError(capture.toBytes())).message).toMatch(/TIME record: varint overflows 64 bits/);
  });
});

/** The capture's bytes in a file of their own; returns its path. */
function writtenCapture(capture: SyntheticCapture, options: Parameters<SyntheticCapture['toBytes']>[0] = {}): string {
  const path = join(mkdtempSync(join(tmpdir(), 'memview-addresses-')), 'addresses.bin');
  writeFileSync(path, capture.toBytes(options));
  return path;
}

/**
 * [address, size, flag] of every new block of the capture as the reference reader gives them back,
 * the flag telling how the capture wrote the block's address (a reused freed block, or the block
 * it follows).
 */
async function newBlocks(capture: SyntheticCapture, codec: 'lz4' | 'deflate', flag: 'reusedAddress' | 'followsBlock') {
  const { events } = await readEvents(writtenCapture(capture, { codec }));
  return events.filter((event) => event.type === 'alloc' || event.type === 'realloc')
    .map((event) => [event.address, event.size, event[flag]]);
}

describe('addresses of new blocks on the memory of freed ones (format version 3)', () => {
  it('read back as the freed block’s address, within a chunk and from an earlier one', async () => {
    const { capture, stacks } = programCapture();
    capture.alloc(0x5000, 100, stacks.load).free(0x5000).endChunk();
    capture.alloc(0x5000, 100, stacks.load) // the block of the previous chunk
      .alloc(0x9000, 100, stacks.load)
      .free(0x9000).free(0x5000)
      .alloc(0x9000, 104, stacks.parse) // same size class, the base moves back and forth
      .alloc(0x5000, 97, stacks.parse)
      .realloc(0x5000, 0x5000, 300, stacks.parse) // in place: the block it replaces
      .alloc(0x7000, 5000, stacks.main); // never freed before: its address
    expect(await newBlocks(capture, 'lz4', 'reusedAddress')).toEqual([
      [0x5000, 100, false], [0x5000, 100, true], [0x9000, 100, false],
      [0x9000, 104, true], [0x5000, 97, true], [0x5000, 300, true], [0x7000, 5000, false],
    ]);
  });

  it('naming a block that is still live is corrupt', async () => {
    const { capture, stacks } = programCapture();
    // ALLOC malloc on the same stack, of 10 bytes (size section), whose address in the chunk's address section is
    // a reference to chunk ordinal 0 ((zigzag 0) << 2 | 1).
    capture.alloc(0x1000, 10, stacks.load).raw([0x11, 0x00]).rawSize([0x0a]).rawAddress([0x01]);
    const error = await readError(capture.toBytes());
    expect(error.message).toMatch(/ALLOC record: a new block reuses the address of heap block 0, which is still live/);
  });

  it('naming a block that does not exist yet is corrupt', async () => {
    const { capture, stacks } = programCapture();
    // Reference to chunk ordinal 5 ((zigzag 5) << 2 | 1 = 41) when one block exists.
    capture.alloc(0x1000, 10, stacks.load).free(0x1000).raw([0x11, 0x00]).rawSize([0x0a]).rawAddress([41]);
    const error = await readError(capture.toBytes());
    expect(error.message).toMatch(/ALLOC record: a new block reuses the address of heap block 5, which is not among the last 4194304 of 1 blocks/);
  });
});

describe('addresses of new blocks named by their rank among the latest freed blocks of their size (format version 6)', () => {
  it('read back as the freed block’s address, skipping blocks reused since and blocks of other sizes', async () => {
    const { capture, stacks } = programCapture();
    // Four blocks of one size class (88..103 bytes), freed in turn: the list is D, C, B, A.
    capture.alloc(0xa000, 100, stacks.load).alloc(0xb000, 100, stacks.load).alloc(0xc000, 96, stacks.load)
      .alloc(0xd000, 100, stacks.load).alloc(0xe000, 5000, stacks.load)
      .free(0xa000).free(0xb000).free(0xc000).free(0xe000).free(0xd000).endChunk();
    capture.alloc(0xb000, 100, stacks.parse) // rank 2: D, C, then B (from an earlier chunk)
      .alloc(0xd000, 90, stacks.parse) // rank 0; the list is now C, A
      .alloc(0xa000, 96, stacks.parse) // rank 1
      .alloc(0xe000, 100, stacks.parse) // a block of another size class: by its ordinal
      .alloc(0xc000, 100, stacks.main) // rank 0, the last one left
      .free(0xc000)
      .realloc(0xc000, 0xc000, 101, stacks.main); // the block it replaces is on top: rank 0
    const blocks = (await readEvents(writtenCapture(capture))).events
      .filter((event) => event.type === 'alloc' || event.type === 'realloc')
      .map((event) => [event.address, event.size, event.byRank]);
    expect(blocks.slice(5)).toEqual([
      [0xb000, 100, true], [0xd000, 90, true], [0xa000, 96, true], [0xe000, 100, false], [0xc000, 100, true], [0xc000, 101, true],
    ]);
  });

  it('a rank beyond the freed blocks of the size class is corrupt', async () => {
    const { capture, stacks } = programCapture();
    // One freed block of 10 bytes; then an ALLOC of 10 bytes naming rank 3 (3 << 2 | 3 = 15).
    capture.alloc(0x1000, 10, stacks.load).free(0x1000).raw([0x11, 0x00]).rawSize([0x0a]).rawAddress([15]);
    const error = await readError(capture.toBytes());
    expect(error.message).toMatch(/ALLOC record: a new block names freed block 3 of its size class's list, which holds 1/);
  });

  it('a version 5 capture is still read, with its reuse references one bit narrower', async () => {
    const { capture, stacks } = programCapture();
    // Block 1 freed; an ALLOC of 10 bytes naming chunk ordinal 1 the version 5 way: (zigzag 1) << 1 | 1 = 5.
    // Read as version 6, 5 would be (zigzag -1) << 2 | 1: a block that does not exist.
    capture.alloc(0x1000, 10, stacks.load).alloc(0x2000, 10, stacks.load).free(0x2000)
      .raw([0x11, 0x00]).rawSize([0x0a]).rawAddress([5]);
    const { events } = await readEvents(writtenCapture(capture, { formatVersion: 5 }));
    expect(events.filter((event) => event.type === 'alloc').map((event) => event.address)).toEqual([0x1000, 0x2000, 0x2000]);
    expect((await readError(capture.toBytes())).message).toMatch(/a new block reuses the address of heap block -1/);
  });
});

describe('addresses of new blocks carved right after an earlier block (format version 5)', () => {
  it('read back as the end of that block\'s allocator chunk, live or freed, across chunks', async () => {
    const { capture, stacks } = programCapture();
    // Chunk footprints: 100 bytes take 112 (0x70), 10 take 32 (0x20), 4000 take 4016 (0xfb0).
    capture.alloc(0x5000, 100, stacks.load).endChunk();
    capture.alloc(0x5070, 10, stacks.load) // after the block of the previous chunk
      .free(0x5000)
      .alloc(0x5090, 4000, stacks.parse) // after the 10-byte block
      .alloc(0x7000, 8, stacks.main) // nothing ends here: its address
      .alloc(0x6040, 16, stacks.main); // after the 4000-byte block, two blocks back
    expect(await newBlocks(capture, 'deflate', 'followsBlock')).toEqual([
      [0x5000, 100, false], [0x5070, 10, true], [0x5090, 4000, true], [0x7000, 8, false], [0x6040, 16, true],
    ]);
  });

  it('naming a block that does not exist is corrupt', async () => {
    const { capture, stacks } = programCapture();
    // ALLOC malloc of 10 bytes whose address follows the block 3 back ((3 - 1) << 2 | 2 = 10),
    // when one block exists.
    capture.alloc(0x1000, 10, stacks.load).raw([0x11, 0x00]).rawSize([0x0a]).rawAddress([10]);
    const error = await readError(capture.toBytes());
    expect(error.message).toMatch(/ALLOC record: a new block follows heap block -2, which is not among the last 4194304 of 1 blocks/);
  });
});

describe('a file that is not a capture this reader can read', () => {
  it('empty', async () => {
    const error = await readError(new Uint8Array(0));
    expect(error.message).toBe('empty file, not a memview capture');
    expect([error.offset, error.chunk]).toEqual([0, -1]);
  });

  it('with another magic', async () => {
    const bytes = new TextEncoder().encode('PK\u0003\u0004 this is a zip file, not a capture');
    expect((await readError(bytes)).message).toBe('not a memview capture (the file does not start with "MEMVIEW")');
  });

  it('of random bytes', async () => {
    const bytes = new Uint8Array(4096).map((_, i) => (i * 2654435761) >>> 24);
    expect((await readError(bytes)).message).toMatch(/^not a memview capture/);
  });

  it('shorter than a header', async () => {
    const error = await readError(new TextEncoder().encode('MEMVIEW'));
    expect(error.message).toBe('capture header is cut short (7 of 16 bytes)');
  });

  it('from a future format version, naming both versions', async () => {
    const error = await readError(new SyntheticCapture().toBytes({ formatVersion: 7 }));
    expect(error.message).toBe('capture format version 7, this reader understands versions 5 to 6');
  });

  it('missing on disk', async () => {
    await expect(readCaptureFile('/nonexistent/capture.bin')).rejects.toThrow(/ENOENT/);
  });
});

describe('random damage anywhere in a capture', () => {
  it('gives a CaptureError or a model, never another exception or a hang', async () => {
    const original = threeChunkCapture().toBytes({ codec: 'lz4' });
    for (let trial = 0; trial < 300; trial++) {
      const bytes = original.slice();
      bytes[(trial * 7919) % bytes.length] ^= 1 + (trial % 255);
      try {
        await read(bytes, 64);
      } catch (error) {
        expect(error).toBeInstanceOf(CaptureError);
      }
    }
  });
});

describe('the trailer', () => {
  it('must list the data chunks the file holds', async () => {
    const complete = threeChunkCapture().toBytes();
    const offsets = chunkOffsets(complete);
    // Drop the second data chunk but keep the trailer that lists three.
    const withoutSecond = concat([complete.subarray(0, offsets[1]), complete.subarray(offsets[2])]);
    const error = await readError(withoutSecond);
    expect(error.message).toMatch(/trailer lists 3 data chunks, the file has 2/);
    expect(error.chunk).toBe(2);
  });
});
