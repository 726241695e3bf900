// The collector's own DWARF line-table reader (collector/src/core/dwarf_lines.cpp) against binutils'
// addr2line, on the two kinds of objects a capture meets: node itself (DWARF 3, libuv only) and an
// addon built with -g by today's g++ (DWARF 5).
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testAddonPath } from './trace-helpers.js';

const native = createRequire(import.meta.url)(testAddonPath) as {
  sourceLines(path: string, addresses: number[], batches?: number): string[];
};

function addr2line(path: string, addresses: number[]): string[] {
  const output = execFileSync('addr2line', ['-e', path, ...addresses.map((address) => `0x${address.toString(16)}`)], {
    encoding: 'utf8', maxBuffer: 1 << 28,
  });
  return output.trim().split('\n').map((line) => {
    const text = line.replace(/ \(discriminator \d+\)$/, '');
    return /^\?\?:|:0$|:\?$/.test(text) ? '' : text;
  });
}

/** Every `step`-th address of the test addon's .text, in its own address space. */
function addonTextAddresses(step: number): number[] {
  const sections = execFileSync('readelf', ['-S', '-W', testAddonPath], { encoding: 'utf8' });
  const text = sections.match(/\.text\s+PROGBITS\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)/)!;
  const start = parseInt(text[1], 16);
  const addresses: number[] = [];
  for (let address = start; address < start + parseInt(text[2], 16); address += step) addresses.push(address);
  return addresses;
}

const lineOf = (location: string) => location.slice(location.lastIndexOf(':') + 1);
const fileOf = (location: string) => location.slice(0, location.lastIndexOf(':'));


describe('DWARF line tables', () => {
  it('give the same lines as addr2line for libuv inside node (DWARF 3), with paths relative to the build directory', () => {
    const symbols = execFileSync('nm', ['--defined-only', process.execPath], { encoding: 'utf8', maxBuffer: 1 << 30 })
      .split('\n').filter((line) => / [Tt] uv_/.test(line));
    expect(symbols.length).toBeGreaterThan(100);
    const addresses = symbols.flatMap((line) => [0, 3, 17, 40, 90].map((offset) => parseInt(line.split(' ')[0], 16) + offset));
    const ours = native.sourceLines(process.execPath, addresses);
    const theirs = addr2line(process.execPath, addresses);
    expect(ours.filter(Boolean).length).toBeGreaterThan(addresses.length * 0.9);
    for (let i = 0; i < addresses.length; i++) {
      expect(Boolean(ours[i]), `0x${addresses[i].toString(16)}`).toBe(Boolean(theirs[i]));
      if (!ours[i]) continue;
      expect(lineOf(ours[i])).toBe(lineOf(theirs[i]));
      // DWARF 3 line tables hold no compilation directory; addr2line prefixes it from .debug_info.
      expect(theirs[i] === ours[i] || theirs[i].endsWith(`/${ours[i]}`), `${ours[i]} vs ${theirs[i]}`).toBe(true);
    }
  });

  it('give the same line numbers as addr2line across the text of a -g addon (DWARF 5)', () => {
    const addresses = addonTextAddresses(7);
    const ours = native.sourceLines(testAddonPath, addresses);
    const theirs = addr2line(testAddonPath, addresses);
    expect(ours.filter(Boolean).length).toBeGreaterThan(addresses.length * 0.5);
    for (let i = 0; i < addresses.length; i++) {
      expect(lineOf(ours[i] || ':'), `0x${addresses[i].toString(16)}`).toBe(lineOf(theirs[i] || ':'));
    }
    // addr2line 2.40 names DWARF 5's file 1 after file 0 (the primary file); the lines above show
    // those rows really are in the headers: napi-inl.h is where a 5000th line exists.
    const deepLines = ours.filter((location) => Number(lineOf(location)) > 1000).map((location) => basename(fileOf(location)));
    expect(deepLines.length).toBeGreaterThan(0);
    expect(deepLines).not.toContain('test_allocators.cc');
    expect(ours.some((location) => location.endsWith(`/test-addon/test_allocators.cc:${lineOf(location)}`))).toBe(true);
  });

  it('give the same lines when looked up in batches that skip the units the first batch found elsewhere', () => {
    // The collector names a run's pcs in batches, and later batches run only the line programs
    // whose rows span one of their addresses: a unit skipped wrongly would leave lines unnamed.
    const uv = execFileSync('nm', ['--defined-only', process.execPath], { encoding: 'utf8', maxBuffer: 1 << 30 })
      .split('\n').filter((line) => / [Tt] uv_/.test(line)).map((line) => parseInt(line.split(' ')[0], 16));
    const inNode = uv.flatMap((address) => [address, address + 11, address + 50]);
    const whole = native.sourceLines(process.execPath, inNode);
    expect(whole.filter(Boolean).length).toBeGreaterThan(inNode.length * 0.9);
    expect(native.sourceLines(process.execPath, inNode, 5)).toEqual(whole);
    const inAddon = addonTextAddresses(13);
    const addonWhole = native.sourceLines(testAddonPath, inAddon);
    expect(addonWhole.filter(Boolean).length).toBeGreaterThan(inAddon.length * 0.5);
    expect(native.sourceLines(testAddonPath, inAddon, 7)).toEqual(addonWhole);
  });

  it('find nothing in an object without line tables, without failing', () => {
    expect(native.sourceLines('/bin/true', [0x1000, 0x2000])).toEqual(['', '']);
  });
});
