// Separate debug files, found by build id under <debug dir>/.build-id/ab/cdef....debug (how Debian's
// -dbgsym packages install them): a stripped object whose functions have no symbol of their own is
// named, with file:line, from its debug file at the end of a run (memview symbolize names pcs with
// the same code, object_symbols.cpp).
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeAllocating, pathOf, readModel, repositoryRoot, strippedAddonWithDebugFile, testAddonPath, traceScript } from './trace-helpers.js';

const VALLOC_NAME = '(anonymous namespace)::Valloc(Napi::CallbackInfo const&)';

function innermostFrameOfValloc(addon: string, environment: Record<string, string>, after = '') {
  const run = traceScript(`require(${JSON.stringify(addon)}).valloc(3456789);${after}`, { environment });
  expect(run.status, run.stderr).toBe(0);
  return readModel(run.capturePath).then((model) => {
    const node = nodeAllocating(model, 3456789);
    const frame = model.tree.frame[node];
    return { name: pathOf(model, node).at(-1)!, file: model.strings[model.frames.file[frame]], line: model.frames.line[frame] };
  });
}

describe('separate debug files', () => {
  it('name a stripped object\'s functions, with file and line, from <debug dir>/.build-id', async () => {
    const { addon, debugDirectory } = strippedAddonWithDebugFile();
    const withDebug = await innermostFrameOfValloc(addon, { MEMVIEW_DEBUG_DIR: debugDirectory });
    expect(withDebug.name).toBe(VALLOC_NAME);
    expect(withDebug.file).toMatch(/test-addon\/test_allocators\.cc$/);
    expect(withDebug.line).toBeGreaterThan(0);
    // The control: the same stripped object without its debug file has no name for it.
    const without = await innermostFrameOfValloc(addon, { MEMVIEW_DEBUG_DIR: join(debugDirectory, 'nothing-here') });
    expect(without.name).toMatch(/^stripped\.node\+0x[0-9a-f]+$/);
  });

  it('are looked up in the MEMVIEW_DEBUG_DIR that tracing started with, whatever the program sets later', async () => {
    // The names are looked up at the end of the run, while the program's threads still run: the
    // variable is read when tracing starts, so a program that changes it (or races a setenv with
    // that lookup) changes nothing.
    const { addon, debugDirectory } = strippedAddonWithDebugFile();
    const changed = await innermostFrameOfValloc(addon, { MEMVIEW_DEBUG_DIR: debugDirectory }, 'process.env.MEMVIEW_DEBUG_DIR = "/nonexistent";');
    expect(changed.name).toBe(VALLOC_NAME);
  });

  it.each(['zlib', 'zstd'] as const)('compressed with %s (libc6-dbg ships zlib) give lines to memview symbolize, names to the end of a run', async (compressed) => {
    const { addon, debugDirectory } = strippedAddonWithDebugFile({ compressed });
    // The end of a traced run does not inflate them (~10 ms for libc's): the name, no line.
    const atExit = await innermostFrameOfValloc(addon, { MEMVIEW_DEBUG_DIR: debugDirectory });
    expect(atExit.name).toBe(VALLOC_NAME);
    expect(atExit.line).toBe(0);
    // The symbols addon, which memview symbolize uses, inflates them.
    const symbol = execFileSync('nm', [testAddonPath], { encoding: 'utf8' }).split('\n').find((line) => line.includes('VallocERKN4Napi12CallbackInfoE'))!;
    const pc = parseInt(symbol.split(' ')[0], 16) + 8;
    process.env.MEMVIEW_DEBUG_DIR = debugDirectory;
    try {
      const symbolsAddon = createRequire(import.meta.url)(join(repositoryRoot, 'collector', 'build', 'Release', 'memview_symbols.node'));
      const buildId = /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', addon], { encoding: 'utf8' }))![1];
      const answer = symbolsAddon.nameObjectPcs(addon, Uint8Array.from(Buffer.from(buildId, 'hex')), 0, [pc]);
      expect(answer.status).toBe('named');
      expect(answer.symbols).toHaveLength(1);
      expect(answer.symbols[0].function).toBe(VALLOC_NAME);
      expect(answer.symbols[0].file).toMatch(/test-addon\/test_allocators\.cc$/);
      expect(answer.symbols[0].line).toBeGreaterThan(0);
    } finally {
      delete process.env.MEMVIEW_DEBUG_DIR;
    }
  });
});
