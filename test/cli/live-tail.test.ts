// CaptureTail follows a capture while it is written: it waits for the file, decodes each chunk as
// it lands (never a half-written one), and once the trailer arrives its snapshot is the model the
// reference reader makes of the finished file.
import { appendFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CaptureTail } from '../../collector/lib/live-tail.js';
import { readCaptureFile } from '../../collector/lib/reader/index.js';
import { scratchFile } from './cli-harness.js';
import { knownCapture } from './known-capture.js';
import { SyntheticCapture } from '../support/synthetic-capture.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(20);
  }
}

describe('CaptureTail', () => {
  it('follows a file written in pieces, waits for it to appear, and ends at the trailer', async () => {
    const bytes = knownCapture().endChunk().toBytes({ codec: 'lz4' });
    const path = scratchFile('growing.bin');
    const tail = new CaptureTail(path);
    await sleep(250);
    expect(tail.started).toBe(false);
    expect(tail.snapshot()).toBeUndefined();
    // The header and part of the first chunk: nothing decodable yet.
    writeFileSync(path, bytes.subarray(0, 40));
    await until(() => tail.started);
    expect(tail.figures.chunks).toBe(0);
    // The rest arrives a few bytes at a time.
    for (let at = 40; at < bytes.length; at += 97) {
      appendFileSync(path, bytes.subarray(at, Math.min(bytes.length, at + 97)));
      await sleep(5);
    }
    await until(() => tail.figures.ended);
    const live = tail.snapshot()!;
    const finished = await readCaptureFile(path);
    expect(live.views.leaks).toEqual(finished.views.leaks);
    expect(live.views.peak).toEqual(finished.views.peak);
    expect(live.stats.leakedBytes).toBe(finished.stats.leakedBytes);
    expect(tail.figures.rssBytes).toBe(60 << 20);
    expect(tail.figures.timeMs).toBe(1500);
    await tail.stop();
    expect(tail.error).toBeUndefined();
  });

  it('snapshots taken while reading do not change the final model', async () => {
    const capture = new SyntheticCapture();
    capture.meta('pid', '7').meta('mainThreadId', '1').threadName(1, 'main');
    const pcs = ['one', 'two', 'three'].map((name, i) => capture.jsFunction(`JS:~${name} /app/a.js:${i + 1}:1`, '/app/a.js', i + 1, 1));
    const stacks = pcs.map((pc) => capture.stack([pcs[0], pc]));
    capture.thread(1).time(0, 1000);
    for (let i = 0; i < 30; i++) {
      capture.alloc(0x1000 + i * 0x100, 100 + i, stacks[i % 3]).time(i * 1_000_000, 1000 + i);
      if (i % 4 === 3) capture.free(0x1000 + (i - 2) * 0x100);
      capture.endChunk();
    }
    const bytes = capture.toBytes({ codec: 'lz4' });
    const path = scratchFile('snapshots.bin');
    writeFileSync(path, bytes.subarray(0, 0));
    const tail = new CaptureTail(path);
    for (let at = 0; at < bytes.length; at += 61) {
      appendFileSync(path, bytes.subarray(at, Math.min(bytes.length, at + 61)));
      await sleep(3);
      tail.snapshot();
    }
    await until(() => tail.figures.ended);
    const finished = await readCaptureFile(path);
    const live = tail.snapshot()!;
    expect(tail.figures.chunks).toBe(30);
    for (const view of ['peak', 'leaks', 'temporary', 'allocated'] as const) expect(live.views[view]).toEqual(finished.views[view]);
    expect(live.stats).toEqual({ ...finished.stats, durationMs: live.stats.durationMs });
    await tail.stop();
  });

  it('a snapshot mid-way shows what is live at that point', async () => {
    const capture = knownCapture();
    const path = scratchFile('midway.bin');
    const full = capture.toBytes({ trailer: false });
    writeFileSync(path, full);
    const tail = new CaptureTail(path);
    await until(() => tail.figures.chunks > 0);
    await sleep(150);
    const model = tail.snapshot()!;
    expect(model.meta.truncated).toBe(true);
    expect(model.stats.leakedBytes).toBe((3 << 20) + 576 + 2048);
    await tail.stop();
  });

  it('stops with an error for a file that is not a capture', async () => {
    const path = scratchFile('not-a-capture.bin', 'hello, world, this is not a capture at all');
    const tail = new CaptureTail(path);
    await until(() => tail.error !== undefined);
    expect(tail.error!.message).toMatch(/not a memview capture/);
    await tail.stop();
  });
});
