// One source of truth for the capture format: the record codes and allocator kinds written down in
// docs/capture-format.md must be the ones the C++ writer, the AssemblyScript decoder and the
// TypeScript reader use.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALLOCATOR_NAMES, RecordCode } from '../collector/lib/reader/format.js';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const documentText = read('docs/capture-format.md');
const writerHeader = read('collector/src/core/record_format.h');
const decoderFormat = read('wasm/assembly/format.ts');

/** "kStackReset" / "STACK_RESET" / "StackReset" / "operator new[]" → one spelling. */
function normalise(name: string): string {
  return name
    .replace(/^k(?=[A-Z])/, '')
    .replace(/\[\]/g, 'array')
    .toLowerCase()
    .replace(/operator|kind|[^a-z]/g, '');
}

function section(text: string, start: RegExp, end: RegExp): string {
  const from = text.search(start);
  const rest = text.slice(from);
  const to = rest.slice(1).search(end);
  return to < 0 ? rest : rest.slice(0, to + 1);
}

function documentedRecords(): Map<number, string> {
  const table = section(documentText, /^## Records/m, /^### /m);
  const records = new Map<number, string>();
  for (const match of table.matchAll(/^\| (\d+) \| `([A-Z_]+)` \|/gm)) records.set(Number(match[1]), normalise(match[2]));
  return records;
}

function documentedAllocators(): Map<number, string> {
  const table = section(documentText, /^### Allocator kinds/m, /^### /m);
  const kinds = new Map<number, string>();
  for (const match of table.matchAll(/\| (\d+) \| ([a-z_ \[\]]+?) (?=\(|\|)/g)) kinds.set(Number(match[1]), normalise(match[2]));
  return kinds;
}

function enumValues(source: string, enumName: string): Map<number, string> {
  const body = new RegExp(`enum ${enumName}[^{]*\\{([^}]*)\\}`).exec(source)![1];
  const values = new Map<number, string>();
  for (const match of body.matchAll(/(k\w+) = (\d+)/g)) values.set(Number(match[2]), normalise(match[1]));
  return values;
}

function prefixedConstants(source: string, prefix: string): Map<number, string> {
  const values = new Map<number, string>();
  for (const match of source.matchAll(new RegExp(`export const ${prefix}_(\\w+): u32 = (\\d+);`, 'g'))) {
    values.set(Number(match[2]), normalise(match[1]));
  }
  return values;
}

describe('the capture format table', () => {
  const records = documentedRecords();
  const allocators = documentedAllocators();

  it('is written down: 15 record codes and 11 allocator kinds', () => {
    expect(records.size).toBe(15);
    expect(allocators.size).toBe(11);
  });

  it('the C++ writer uses the documented record codes and allocator kinds', () => {
    expect(enumValues(writerHeader, 'Record')).toEqual(records);
    expect(enumValues(writerHeader, 'AllocatorKind')).toEqual(allocators);
  });

  it('the AssemblyScript decoder uses them', () => {
    expect(prefixedConstants(decoderFormat, 'RECORD')).toEqual(records);
    expect(prefixedConstants(decoderFormat, 'ALLOCATOR')).toEqual(allocators);
  });

  it('the TypeScript reader uses them', () => {
    expect(new Map(Object.entries(RecordCode).map(([name, code]) => [code, normalise(name)]))).toEqual(records);
    expect(new Map(Object.entries(ALLOCATOR_NAMES).map(([code, name]) => [Number(code), normalise(name)]))).toEqual(allocators);
  });
});
