// The collector sees every allocator entry point with its exact address and size. A test addon
// calls each libc/libstdc++ function directly with sizes no other code in node uses, so each
// event can be found among node's own allocations.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeAllocating, pathOf, readEvents, readModel, repositoryRoot, traceScript, type TracedEvent } from './trace-helpers.js';

const Kind = { malloc: 1, calloc: 2, realloc: 3, posixMemalign: 4, alignedAlloc: 5, memalign: 6, valloc: 7, pvalloc: 8, new: 9, newArray: 10 };
const FreeKind = { free: 1, delete: 2, deleteArray: 3 };

function findAlloc(events: TracedEvent[], address: number) {
  return events.filter((event) => (event.type === 'alloc' || event.type === 'realloc') && event.address === address);
}

describe('every allocator is traced with its exact address and size', () => {
  const run = traceScript(`
    const native = require(process.env.MEMVIEW_TEST_ADDON);
    const n = (value) => Number(value);
    const out = {};
    out.malloc = n(native.malloc(70001));
    out.calloc = n(native.calloc(7, 10003));
    out.posixMemalign = n(native.posixMemalign(256, 70003));
    out.alignedAlloc = n(native.alignedAlloc(512, 70144));
    out.memalign = n(native.memalign(1024, 70005));
    out.valloc = n(native.valloc(70006));
    out.pvalloc = n(native.pvalloc(70007));
    out.newScalar = n(native.newScalar(70008));
    out.newArray = n(native.newArray(70009));
    out.newAligned = n(native.newAligned(70010));
    native.free(BigInt(out.malloc));
    native.free(BigInt(out.calloc));
    native.deleteScalar(BigInt(out.newScalar));
    native.deleteArray(BigInt(out.newArray));
    // realloc chain: grow twice (the block moves), then free.
    const first = native.malloc(1111);
    const second = native.realloc(first, 2222);
    const third = native.realloc(second, 333333);
    native.free(third);
    out.chain = [first, second, third].map(n);
    console.log(JSON.stringify(out));
  `);

  it('the program ran and its output passed through', () => {
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('"malloc"');
  });

  it('records each allocation with its allocator, address and size', async () => {
    const addresses = JSON.parse(run.stdout);
    const { events } = await readEvents(run.capturePath);
    const expectations: [string, number, number][] = [
      ['malloc', Kind.malloc, 70001],
      ['calloc', Kind.calloc, 70021],
      ['posixMemalign', Kind.posixMemalign, 70003],
      ['alignedAlloc', Kind.alignedAlloc, 70144],
      ['memalign', Kind.memalign, 70005],
      ['valloc', Kind.valloc, 70006],
      ['pvalloc', Kind.pvalloc, 73728], // pvalloc rounds up to whole pages
      ['newScalar', Kind.new, 70008],
      ['newArray', Kind.newArray, 70009],
      ['newAligned', Kind.new, 70010],
    ];
    for (const [name, kind, size] of expectations) {
      const matches = findAlloc(events, addresses[name]).filter((event) => event.size === size);
      expect(matches, `${name} at 0x${addresses[name].toString(16)}`).toHaveLength(1);
      expect(matches[0].kind, name).toBe(kind);
    }
  });

  it('records frees with the matching deallocator, after the allocation', async () => {
    const addresses = JSON.parse(run.stdout);
    const { events } = await readEvents(run.capturePath);
    const freeIndex = (address: number, kind: number) =>
      events.findIndex((event) => event.type === 'free' && event.address === address && event.kind === kind);
    const allocIndex = (address: number) => events.findIndex((event) => event.type === 'alloc' && event.address === address);
    expect(freeIndex(addresses.malloc, FreeKind.free)).toBeGreaterThan(allocIndex(addresses.malloc));
    expect(freeIndex(addresses.calloc, FreeKind.free)).toBeGreaterThan(allocIndex(addresses.calloc));
    expect(freeIndex(addresses.newScalar, FreeKind.delete)).toBeGreaterThan(allocIndex(addresses.newScalar));
    expect(freeIndex(addresses.newArray, FreeKind.deleteArray)).toBeGreaterThan(allocIndex(addresses.newArray));
  });

  it('records a realloc chain as linked moves of one block', async () => {
    const [first, second, third] = JSON.parse(run.stdout).chain;
    const { events } = await readEvents(run.capturePath);
    const start = events.findIndex((event) => event.type === 'alloc' && event.address === first && event.size === 1111);
    expect(start).toBeGreaterThanOrEqual(0);
    const grow1 = events.findIndex((event, index) => index > start && event.type === 'realloc' && event.oldAddress === first);
    expect(events[grow1]).toMatchObject({ address: second, size: 2222 });
    const grow2 = events.findIndex((event, index) => index > grow1 && event.type === 'realloc' && event.oldAddress === second);
    expect(events[grow2]).toMatchObject({ address: third, size: 333333 });
    const release = events.findIndex((event, index) => index > grow2 && event.type === 'free' && event.address === third);
    expect(release).toBeGreaterThan(grow2);
  });

  it('leaves the never-freed blocks in the leaks view and the freed ones out', async () => {
    const model = await readModel(run.capturePath);
    // valloc, pvalloc, posix_memalign, aligned_alloc, memalign and aligned new were never freed.
    expect(model.stats.leakedBytes).toBeGreaterThanOrEqual(70003 + 70144 + 70005 + 70006 + 73728 + 70010);
    expect(model.stats.allocators.valloc.count).toBe(1);
    expect(model.stats.allocators.valloc.bytes).toBe(70006);
    expect(model.stats.allocators.pvalloc.bytes).toBe(73728);
  });
});

describe('a realloc that fails', () => {
  it('leaves the old block as it was: same size, same stack, still live, and no allocation more', async () => {
    // realloc returns NULL and keeps the block. memview had numbered the free half before the call
    // and then wrote the block again as the realloc's own allocation, at its usable size.
    const run = traceScript(`
      const native = require(process.env.MEMVIEW_TEST_ADDON);
      function keepOne() { return native.malloc(70401); }
      const kept = keepOne();
      const failed = native.realloc(kept, 2 ** 46);
      console.log(JSON.stringify([Number(kept), Number(failed)]));
    `);
    expect(run.status, run.stderr).toBe(0);
    const [kept, failed] = JSON.parse(run.stdout);
    expect(failed).toBe(0);
    const { events } = await readEvents(run.capturePath);
    const atKept = events.filter((event) => event.address === kept || event.oldAddress === kept);
    expect(atKept.map((event) => [event.type, event.size])).toEqual([['alloc', 70401]]);
    const model = await readModel(run.capturePath);
    const node = nodeAllocating(model, 70401);
    expect(pathOf(model, node)).toContain('keepOne');
    expect(model.views.leaks.bytes[node]).toBe(70401);
  });
});

describe('a block on the memory of a freed one keeps its exact address', () => {
  // The allocator hands a freed block's memory out again; the capture then names the freed block
  // instead of writing the address (format version 3), and the reader must give back the address.
  const run = traceScript(`
    const native = require(process.env.MEMVIEW_TEST_ADDON);
    const seen = [];
    for (let i = 0; i < 500; i++) {
      const sizeA = 70017 + (i % 3), sizeB = 50021;
      const a = native.malloc(sizeA), b = native.malloc(sizeB);
      seen.push([Number(a), sizeA], [Number(b), sizeB]);
      native.free(a);
      native.free(b);
    }
    const kept = native.malloc(70017);
    const moved = native.realloc(kept, 70018); // in place or not: either way its exact address
    seen.push([Number(kept), 70017], [Number(moved), 70018]);
    native.free(moved);
    console.log(JSON.stringify(seen));
  `);

  it('gives every reallocation at a reused address the address the program got', async () => {
    expect(run.status, run.stderr).toBe(0);
    const seen: [number, number][] = JSON.parse(run.stdout);
    const { events } = await readEvents(run.capturePath);
    const mine = events.filter((event) => (event.type === 'alloc' || event.type === 'realloc') && [70017, 70018, 70019, 50021].includes(event.size));
    expect(mine.map((event) => [event.address, event.size])).toEqual(seen);
    // The allocator reused the two addresses over and over, and the capture said so.
    expect(new Set(seen.map(([address]) => address)).size).toBeLessThan(10);
    expect(mine.filter((event) => event.reusedAddress).length).toBeGreaterThan(900);
  });
});

describe('a block on the memory of one of the latest freed blocks of its size keeps its exact address', () => {
  // glibc's tcache hands the freed blocks of a size out again last in, first out: the capture names
  // each by its rank in its size class's list of freed blocks (format version 6), and the reader,
  // keeping the same lists, must give back the address the program got.
  const run = traceScript(`
    const native = require(process.env.MEMVIEW_TEST_ADDON);
    const seen = [];
    for (let round = 0; round < 300; round++) {
      const blocks = [];
      for (let i = 0; i < 6; i++) {
        const block = native.malloc(1001);
        seen.push(Number(block));
        blocks.push(block);
      }
      for (const block of blocks) native.free(block);
    }
    console.log(JSON.stringify(seen));
  `);

  it('names most of them by rank and reads every address back exactly', async () => {
    expect(run.status, run.stderr).toBe(0);
    const seen: number[] = JSON.parse(run.stdout);
    const { events } = await readEvents(run.capturePath);
    const mine = events.filter((event) => event.type === 'alloc' && event.size === 1001);
    expect(mine.map((event) => event.address)).toEqual(seen);
    expect(new Set(seen).size).toBeLessThan(20);
    expect(mine.filter((event) => event.byRank).length).toBeGreaterThan(1500);
  });
});

describe('a block carved right after another keeps its exact address', () => {
  // Fresh memory comes from the top of the heap, one chunk after the other; the capture then names
  // the block before instead of writing the address (format version 5).
  const run = traceScript(`
    const native = require(process.env.MEMVIEW_TEST_ADDON);
    const seen = [];
    for (let i = 0; i < 300; i++) {
      const size = 30011 + 16 * (i % 7);
      seen.push([Number(native.malloc(size)), size]);
    }
    console.log(JSON.stringify(seen));
  `);

  it('gives every such block the address the program got, and writes most as following', async () => {
    expect(run.status, run.stderr).toBe(0);
    const seen: [number, number][] = JSON.parse(run.stdout);
    const { events } = await readEvents(run.capturePath);
    const mine = events.filter((event) => event.type === 'alloc' && event.size >= 30011 && event.size <= 30011 + 96 && (event.size - 30011) % 16 === 0);
    expect(mine.map((event) => [event.address, event.size])).toEqual(seen);
    expect(mine.filter((event) => event.followsBlock).length).toBeGreaterThan(250);
  });
});

describe('mapped memory counts what is accessible, not what is reserved', () => {
  const page = 4096;
  const run = traceScript(`
    const native = require(process.env.MEMVIEW_TEST_ADDON);
    const PROT_NONE = 0, PROT_RW = 3;
    const page = ${page};
    const out = {};
    // 10 accessible pages; unmap 2 in the middle, then the first page, then the rest at once.
    out.a = Number(native.munmapScenario());
    // A PROT_NONE reservation counts nothing until pages are made accessible.
    const r = native.mmap(64 * page, PROT_NONE);
    native.mprotect(r + BigInt(8 * page), 3 * page, PROT_RW);
    native.mprotect(r + BigInt(9 * page), page, PROT_NONE);
    out.r = Number(r);
    // Grow an accessible mapping with mremap.
    const g = native.mmap(2 * page, PROT_RW);
    const moved = native.mremap(g, 2 * page, 40 * page);
    out.g = Number(g); out.moved = Number(moved);
    console.log(JSON.stringify(out));
  `);

  it('splits partial, middle and multi-range unmaps', async () => {
    expect(run.status, run.stderr).toBe(0);
    const { a } = JSON.parse(run.stdout);
    const { events } = await readEvents(run.capturePath);
    // The scenario runs first; later mappings of this script (or of V8) may reuse the freed range.
    const mine = events.filter((event) => (event.type === 'map' || event.type === 'unmap') && event.address >= a && event.address < a + 10 * page).slice(0, 5);
    expect(mine.map((event) => [event.type, (event.address - a) / page, event.size / page])).toEqual([
      ['map', 0, 10],
      ['unmap', 4, 2],
      ['unmap', 0, 1],
      // the final munmap of pages 1..9 releases only what was still accessible: 1..3 and 6..9
      ['unmap', 1, 3],
      ['unmap', 6, 4],
    ]);
  });

  it('counts PROT_NONE reservations only once mprotect makes pages accessible', async () => {
    const { r } = JSON.parse(run.stdout);
    const { events } = await readEvents(run.capturePath);
    // (The kernel may place the earlier test mapping right after the reservation: look at the
    // mprotect-caused records only.)
    const mine = events.filter((event) => (event.type === 'map' || event.type === 'unmap') && event.kind === 2 && event.address >= r && event.address < r + 64 * page);
    expect(mine.map((event) => [event.type, event.kind, (event.address - r) / page, event.size / page])).toEqual([
      ['map', 2, 8, 3], // mprotect to read/write
      ['unmap', 2, 9, 1], // mprotect back to PROT_NONE
    ]);
  });

  it('follows mremap from the old range to the new one', async () => {
    const { g, moved } = JSON.parse(run.stdout);
    const { events } = await readEvents(run.capturePath);
    const unmapOld = events.findIndex((event) => event.type === 'unmap' && event.kind === 3 && event.address === g && event.size === 2 * page);
    const mapNew = events.findIndex((event) => event.type === 'map' && event.kind === 3 && event.address === moved && event.size === 40 * page);
    expect(unmapOld).toBeGreaterThanOrEqual(0);
    expect(mapNew).toBeGreaterThan(unmapOld);
  });
});

describe('a caller built without frame pointers', () => {
  it('is traced whatever its rbp holds, and the program goes on', async () => {
    // rbp is an ordinary register there: a value near 2^64 (-16 wrapped memview's bounds check
    // once, and binutils' `as` crashed under it), one just past the stack, a small one, an odd one.
    const run = traceScript(`
      const native = require(process.env.MEMVIEW_TEST_ADDON);
      const values = [-16n, -8n, 0n, 8n, 0x7ffffffff000n, 0x1234567n];
      const out = values.map((rbp, k) => Number(native.mallocWithFramePointer(70101 + k, BigInt.asUintN(64, rbp))));
      console.log(JSON.stringify(out));
    `);
    expect(run.status, run.stderr).toBe(0);
    const addresses: number[] = JSON.parse(run.stdout);
    const { events } = await readEvents(run.capturePath);
    expect(addresses).toHaveLength(6);
    addresses.forEach((address, k) => {
      // (node may have used the address before: the block is the last one there)
      expect(findAlloc(events, address).map((event) => [event.kind, event.size]).at(-1)).toEqual([Kind.malloc, 70101 + k]);
    });
  });
});

describe('a frame record read through a register that holds data', () => {
  it('ends the stack there instead of keeping a stack address or a V8 integer as a frame', async () => {
    // Code without frame pointers (ld.so, libstdc++) leaves rbp pointing at its own data: the walk
    // read a record there, and kept its "return address" (seen: 0x7ffeffd8b0e0 on the stack,
    // 0x5f00000000, a Smi) as an "[unknown 0x…]" frame at the root of the stack.
    const run = traceScript(`
      const native = require(process.env.MEMVIEW_TEST_ADDON);
      native.mallocUnderForgedFrame(70151, 0n);
      native.mallocUnderForgedFrame(70152, 0x5f00000000n);
    `);
    expect(run.status, run.stderr).toBe(0);
    const model = await readModel(run.capturePath);
    // Both stacks end at the caller of malloc, which is all there is to know of them.
    let bytes = 0;
    const unknown: string[] = [];
    for (let node = 1; node < model.tree.count; node++) {
      const path = pathOf(model, node);
      if (path.at(-1) !== 'memview_test_malloc_with_rbp' || model.views.allocated.bytes[node] === 0) continue;
      bytes += model.views.allocated.bytes[node];
      unknown.push(...path.filter((name) => name.startsWith('[unknown ')));
    }
    expect(bytes).toBe(70151 + 70152);
    expect(unknown).toEqual([]);
  });
});

describe('an allocation a native addon makes while it loads (a static constructor)', () => {
  // dlopen runs a library's constructors before it returns, so their pcs lay in no object memview
  // knew of when their stack nodes were defined: they read "[unknown 0x…]".
  for (const runArguments of [[], ['--native']]) {
    it(`names the constructor${runArguments.length ? ' with --native' : ''}`, async () => {
      const run = traceScript(`
        const native = require(process.env.MEMVIEW_TEST_ADDON);
        console.log(Number(native.blockAllocatedAtLoad()));
      `, { runArguments });
      expect(run.status, run.stderr).toBe(0);
      const { events } = await readEvents(run.capturePath);
      expect(findAlloc(events, Number(run.stdout.trim())).map((event) => [event.kind, event.size]).at(-1)).toEqual([Kind.malloc, 70301]);
      const model = await readModel(run.capturePath);
      const path = pathOf(model, nodeAllocating(model, 70301));
      expect(path.filter((name) => name.startsWith('[unknown ')), path.join(' > ')).toEqual([]);
      expect(path.join(' > ')).toMatch(/allocate_while_loading/);
    });
  }
});

describe('a caller on another stack (a signal\'s alternate stack, a fiber)', () => {
  it('is traced, and the walk does not stretch to the thread\'s own stack through unmapped memory', async () => {
    const run = traceScript(`
      const native = require(process.env.MEMVIEW_TEST_ADDON);
      console.log(Number(native.mallocOnHeapStack(70201)));
    `);
    expect(run.status, run.stderr).toBe(0);
    const address = Number(run.stdout.trim());
    const { events } = await readEvents(run.capturePath);
    expect(findAlloc(events, address).map((event) => [event.kind, event.size]).at(-1)).toEqual([Kind.malloc, 70201]);
  });
});

describe('an allocator the user preloads (as jemalloc is)', () => {
  it('keeps serving the program, and memview still sees every call', async () => {
    const countingAllocator = join(repositoryRoot, 'collector', 'build', 'Release', 'memview_counting_allocator.node');
    const run = traceScript(`
      const native = require(process.env.MEMVIEW_TEST_ADDON);
      const before = native.userAllocatorCalls();
      const address = Number(native.malloc(70401));
      native.free(BigInt(address));
      console.log(JSON.stringify({ before, after: native.userAllocatorCalls(), address }));
    `, { environment: { LD_PRELOAD: countingAllocator } });
    expect(run.status, run.stderr).toBe(0);
    const { before, after, address } = JSON.parse(run.stdout);
    // Every allocation of node's start-up went to it, and the malloc and free here too.
    expect(before).toBeGreaterThan(10000);
    expect(after).toBeGreaterThanOrEqual(before + 2);
    const { events } = await readEvents(run.capturePath);
    expect(findAlloc(events, address).map((event) => [event.kind, event.size])).toContainEqual([Kind.malloc, 70401]);
  });
});
