// Random but well-formed captures for the differential and fuzz tests: several threads, JS and
// native stacks (some symbolised), stack resets, heap events on live and unknown addresses,
// reallocs, mappings cut in pieces, time and RSS samples, several chunks.
import { SyntheticCapture } from '../support/synthetic-capture.js';

/** A small deterministic PRNG (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `length` bytes drawn from [0, alphabet) by a seeded generator. */
export function randomBytes(seed: number, length: number, alphabet: number): Uint8Array {
  const random = seededRandom(seed);
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * alphabet);
  return bytes;
}

export interface RandomCaptureOptions {
  events: number;
  /** Allocations made (and kept) before the random events, to grow the live set. */
  preallocate?: number;
  codec?: 'stored' | 'lz4' | 'deflate';
  trailer?: boolean;
  /** Threads the events move between (3 by default); past 15, a chunk's thread table is full. */
  threads?: number;
  /** Records in one stream per thread slot, as the collector writes them (format version 6). */
  streams?: boolean;
}

export function randomCapture(seed: number, options: RandomCaptureOptions): Uint8Array {
  const random = seededRandom(seed);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
  const capture = new SyntheticCapture();
  capture.meta('pid', String(1000 + seed)).meta('mainThreadId', '11').meta('commandLine', '["node","app.js"]');
  const threads = Array.from({ length: options.threads ?? 3 }, (_, i) => 11 + i);
  capture.threadName(12, 'worker');
  capture.module('/usr/bin/node', 0x400000, [{ start: 0x400000, lengthBytes: 0x100000 }]);
  capture.module('/lib/libc.so.6', 0x7f0000000000, [{ start: 0x7f0000000000, lengthBytes: 0x10000 }]);
  capture.symbol(0x400100, 'node::Start', 'src/node.cc', 10);

  let pcs: number[] = [];
  const definePcs = () => {
    pcs = [0x400100, 0x400200, 0x7f0000000010, 0x7f0000000020, 0x123456];
    for (let i = 0; i < 4; i++) {
      pcs.push(capture.jsFunction(`JS:~fn${i} /app/m${i % 2}.js:${i + 1}:1`, i % 3 === 0 ? `/app/node_modules/x/m${i}.js` : `/app/m${i % 2}.js`, i + 1, 1));
    }
  };
  definePcs();
  const randomStack = () => {
    const depth = 1 + Math.floor(random() * 4);
    const path: number[] = [];
    for (let i = 0; i < depth; i++) path.push(pick(pcs));
    return capture.stack(path);
  };

  const live: number[] = [];
  // Addresses freed lately: an allocator hands them out again, and the capture names their block.
  const freed: number[] = [];
  const mapped: number[] = [];
  let nextAddress = 0x10000;
  let timeNs = 0;
  capture.thread(11).time(0, 4096);
  for (let i = 0; i < (options.preallocate ?? 0); i++) {
    const address = (nextAddress += 16 * (1 + Math.floor(random() * 8)));
    capture.alloc(address, 1 + Math.floor(random() * 500), randomStack(), 1 + Math.floor(random() * 10));
    live.push(address);
  }
  for (let i = 0; i < options.events; i++) {
    const roll = random();
    if (roll < 0.03) capture.thread(pick(threads));
    else if (roll < 0.06) {
      timeNs += Math.floor(random() * 5e6);
      capture.time(timeNs, random() < 0.8 ? Math.floor(random() * 1e7) : undefined);
    } else if (roll < 0.065) {
      capture.stackReset();
      definePcs();
    } else if (roll < 0.07) capture.endChunk();
    else if (roll < 0.4) {
      // Fresh addresses, freed ones handed out again, and sometimes a live one (a missed free).
      const reuse = random();
      const address = reuse < 0.05 && live.length > 0 ? pick(live)
        : reuse < 0.5 && freed.length > 0 ? freed.splice(Math.floor(random() * freed.length), 1)[0]
        : (nextAddress += 16 * (1 + Math.floor(random() * 8)));
      capture.alloc(address, Math.floor(random() * 5000), randomStack(), 1 + Math.floor(random() * 10));
      live.push(address);
    } else if (roll < 0.75) {
      if (live.length === 0 || random() < 0.05) capture.free(0x99990000 + Math.floor(random() * 100) * 16);
      else {
        // Recent allocations are freed more often, so "temporary" happens.
        const index = random() < 0.5 ? live.length - 1 : Math.floor(random() * live.length);
        capture.free(live[index], 1 + Math.floor(random() * 3));
        freed.push(live[index]);
        if (freed.length > 64) freed.shift();
        live.splice(index, 1);
      }
    } else if (roll < 0.85) {
      const oldAddress = live.length > 0 && random() < 0.8 ? live.splice(Math.floor(random() * live.length), 1)[0] : 0;
      const newAddress = random() < 0.3 && oldAddress !== 0 ? oldAddress : (nextAddress += 64);
      capture.realloc(oldAddress, newAddress, Math.floor(random() * 9000), randomStack());
      live.push(newAddress);
    } else if (roll < 0.93) {
      const page = 0x200000000 + Math.floor(random() * 256) * 4096;
      capture.map(page, 4096 * (1 + Math.floor(random() * 16)), randomStack(), 1 + Math.floor(random() * 3));
      mapped.push(page);
    } else {
      const page = mapped.length > 0 && random() < 0.7 ? pick(mapped) + 4096 * Math.floor(random() * 4) : 0x200000000 + Math.floor(random() * 256) * 4096;
      capture.unmap(page, 4096 * (1 + Math.floor(random() * 8)), 1 + Math.floor(random() * 4));
    }
  }
  capture.time(timeNs + 1000, 5000);
  return capture.toBytes({ codec: options.codec ?? 'stored', trailer: options.trailer ?? true, streams: options.streams });
}
