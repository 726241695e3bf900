// Separate debug files, found by build id under <debug dir>/.build-id/ab/cdef....debug (how Debian's
// -dbgsym packages install them): a stripped object whose functions have no symbol of their own is
// named, with file:line, from its debug file at the end of a run (memview symbolize names pcs with
// the same code, object_symbols.cpp).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeAllocating, pathOf, readModel, strippedAddonWithDebugFile, traceScript } from './trace-helpers.js';

const VALLOC_NAME = '(anonymous namespace)::Valloc(Napi::CallbackInfo const&)';

function innermostFrameOfValloc(addon: string, environment: Record<string, string>) {
  const run = traceScript(`require(${JSON.stringify(addon)}).valloc(3456789);`, { environment });
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
});
