// Finding a function node exports, start and size, by its name in the executable's GNU hash table
// (collector/src/core/exported_functions.h): how the addon learns which of V8's functions
// allocate only for memview's code-event handler. Held to what the dynamic linker itself says.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { testAddonPath } from './trace-helpers.js';

const native = createRequire(import.meta.url)(testAddonPath) as {
  exportedFunction(name: string): [start: number, end: number, dlsym: number, symbolSize: number, symbolType: number];
};

const STT_FUNC = 2;

describe('exported functions of node', () => {
  it('have the start dlsym gives and the size of their symbol entry', () => {
    const names = [
      'napi_create_function', 'uv_loop_init', 'malloc_usable_size_is_not_here',
      '_ZN2v88internal15CodeEventLogger15CodeCreateEventENS0_16LogEventListener7CodeTagENS0_6HandleINS0_12AbstractCodeEEEPKc',
      '_ZN2v87Isolate10GetCurrentEv',
    ];
    let found = 0;
    for (const name of names) {
      const [start, end, address, size, type] = native.exportedFunction(name);
      if (address === 0) {
        expect([start, end], name).toEqual([0, 0]);
        continue;
      }
      expect(type, name).toBe(STT_FUNC);
      expect(start, name).toBe(address);
      expect(end - start, name).toBe(size);
      expect(size, name).toBeGreaterThan(0);
      found++;
    }
    expect(found).toBeGreaterThanOrEqual(3);
  });

  it('are not data: an exported table has no function range', () => {
    const [start, end, address, , type] = native.exportedFunction('CAST_S_table0');
    expect(address).toBeGreaterThan(0);
    expect(type).not.toBe(STT_FUNC);
    expect([start, end]).toEqual([0, 0]);
  });
});
