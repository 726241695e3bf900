// Stack frames are named from what was loaded when the stack was defined: V8 code objects for
// JavaScript (with their source positions), modules and symbols for native code.
import { describe, expect, it } from 'vitest';
import { parseCodeName, readableScript, scriptKind } from '../../collector/lib/reader/code-name.js';
import { FrameKind, type CaptureModel } from '../../viewer/model/types.js';
import { pathOf, readSynthetic } from '../support/model-queries.js';
import { SyntheticCapture } from '../support/synthetic-capture.js';

interface FrameRow {
  name: string;
  file: string;
  line: number;
  column: number;
  kind: number;
}

/** The frame of each call-tree node that allocated, in node order. */
function allocatedFrameList(model: CaptureModel): [string, FrameRow][] {
  const rows: [string, FrameRow][] = [];
  for (let node = 1; node < model.tree.count; node++) {
    if (model.views.allocated.count[node] === 0) continue;
    const frame = model.tree.frame[node];
    rows.push([pathOf(model, node).join(' > '), {
      name: model.strings[model.frames.functionName[frame]],
      file: model.strings[model.frames.file[frame]],
      line: model.frames.line[frame],
      column: model.frames.column[frame],
      kind: model.frames.kind[frame],
    }]);
  }
  return rows;
}

/** The frame of each call path that allocated. */
function allocatedFrames(model: CaptureModel): Record<string, FrameRow> {
  return Object.fromEntries(allocatedFrameList(model));
}

describe('V8 code names', () => {
  it.each([
    ['JS:~load /app/x.js:10:3', '/app/x.js', 'load', '/app/x.js'],
    ['LazyCompile:*foo file:///a.mjs:3:1', '', 'foo', 'file:///a.mjs'],
    ['JS:^get value /app/y.js:5:7', '/app/y.js', 'get value', '/app/y.js'],
    ['JS:~ /app/x.js:1:1', '/app/x.js', '(anonymous)', '/app/x.js'],
    ['Function:', '', '(anonymous)', ''],
    ['JS:+handler node:internal/timers:500:11', 'node:internal/timers', 'handler', 'node:internal/timers'],
    ['Script:~ /my dir/app.js', '/my dir/app.js', '(anonymous)', '/my dir/app.js'],
  ])('%s is function %s in %s', (codeName, script, functionName, file) => {
    const parsed = parseCodeName(codeName, script);
    expect(parsed).toMatchObject({ isJavaScript: true, functionName, file });
  });

  it('reads code from eval and new Function, which has no script, as that code and its line', () => {
    // V8 names it ` :line:column`: the location was read as a script called ":1".
    expect(parseCodeName('Eval:~ :1:1', '')).toMatchObject({ functionName: '(eval)', file: '', line: 1, column: 1 });
    expect(parseCodeName('JS:~ :3:20', '')).toMatchObject({ functionName: '(anonymous)', file: '', line: 3, column: 20 });
    expect(parseCodeName('JS:*inner :2:5', '')).toMatchObject({ functionName: 'inner', file: '', line: 2, column: 5 });
  });

  it('shows an ES module as its path, not as a percent-encoded URL', () => {
    expect(readableScript('file:///home/me/%C3%BCn%C3%AF/%E6%A8%A1%E5%9D%97-%C3%B1.mjs')).toBe('/home/me/ünï/模块-ñ.mjs');
    expect(readableScript('file:///app/my%20dir/a.mjs')).toBe('/app/my dir/a.mjs');
    expect(readableScript('/app/x.js')).toBe('/app/x.js');
    expect(readableScript('node:internal/timers')).toBe('node:internal/timers');
    expect(readableScript('file:///bad%E0%A4%A.mjs')).toBe('file:///bad%E0%A4%A.mjs');
  });

  it('tells code TurboFan optimized (tier mark *) from the other tiers', () => {
    expect(parseCodeName('LazyCompile:*foo /a.js:3:1', '/a.js').optimized).toBe(true);
    expect(parseCodeName('JS:~foo /a.js:3:1', '/a.js').optimized).toBe(false);
    expect(parseCodeName('JS:^foo /a.js:3:1', '/a.js').optimized).toBe(false);
    expect(parseCodeName('Builtin:ArrayMap', '').optimized).toBe(false);
  });

  it('keeps V8’s own code (builtins, stubs, bytecode handlers) as it is named', () => {
    expect(parseCodeName('Builtin:ArrayMap', '')).toMatchObject({ isJavaScript: false, functionName: 'Builtin:ArrayMap' });
    expect(parseCodeName('Stub:CEntry', '').isJavaScript).toBe(false);
    expect(parseCodeName('BytecodeHandler:LdaZero', '').isJavaScript).toBe(false);
  });

  it('tells node’s scripts and dependencies from the program', () => {
    expect(scriptKind('node:internal/modules/cjs/loader')).toBe(FrameKind.NodeInternal);
    expect(scriptKind('internal/modules/cjs/loader.js')).toBe(FrameKind.NodeInternal);
    expect(scriptKind('/app/node_modules/express/lib/router.js')).toBe(FrameKind.NodeModules);
    expect(scriptKind('file:///app/node_modules/x/index.mjs')).toBe(FrameKind.NodeModules);
    expect(scriptKind('/app/server.js')).toBe(FrameKind.UserJs);
    expect(scriptKind('file:///app/server.mjs')).toBe(FrameKind.UserJs);
  });

  it('counts memview’s own bridge script as start-up machinery, not the program', () => {
    expect(scriptKind('/usr/lib/node_modules/memview/collector/register.cjs')).toBe(FrameKind.NodeInternal);
    expect(scriptKind('/home/me/src/memview/collector/register.cjs')).toBe(FrameKind.NodeInternal);
    expect(scriptKind('/app/register.cjs')).toBe(FrameKind.UserJs);
  });
});

describe('JavaScript frames', () => {
  it('take line and column from the last source position at or before the call site', async () => {
    const capture = new SyntheticCapture().thread(1);
    capture.code({
      start: 0x5000, sizeBytes: 0x100, name: 'JS:*work /app/w.js:1:1', script: '/app/w.js', line: 1, column: 1,
      positions: [{ pcOffset: 0, line: 2, column: 3 }, { pcOffset: 0x20, line: 4, column: 5 }, { pcOffset: 0x40, line: 6, column: 7 }, { pcOffset: 0x60, line: 0, column: 0 }],
    });
    capture.alloc(0x1, 1, capture.stack([0x5021])); // call site 0x20 → line 4
    capture.alloc(0x2, 1, capture.stack([0x5020])); // call site 0x1f → line 2
    capture.alloc(0x3, 1, capture.stack([0x5070])); // a position without source: the function's line
    const model = await readSynthetic(capture);
    const frames = allocatedFrameList(model).map(([, frame]) => frame);
    expect(frames.map((f) => [f.name, f.file, f.line, f.column, f.kind])).toEqual([
      ['work', '/app/w.js', 4, 5, FrameKind.UserJs],
      ['work', '/app/w.js', 2, 3, FrameKind.UserJs],
      ['work', '/app/w.js', 1, 1, FrameKind.UserJs],
    ]);
  });

  it('without positions report the function’s own line, and the same line is one node', async () => {
    const capture = new SyntheticCapture().thread(1);
    capture.code({ start: 0x5000, sizeBytes: 0x100, name: 'JS:~run /app/node_modules/lib/r.js:7:2', script: '/app/node_modules/lib/r.js', line: 7, column: 2 });
    capture.alloc(0x1, 1, capture.stack([0x5010])).alloc(0x2, 1, capture.stack([0x5050]));
    const model = await readSynthetic(capture);
    expect(allocatedFrames(model)).toEqual({
      'thread 1 > run': { name: 'run', file: '/app/node_modules/lib/r.js', line: 7, column: 2, kind: FrameKind.NodeModules },
    });
  });

  it('defined before their code was listed are named by the listing, until the next STACK_RESET', async () => {
    // What the collector does at start-up: stacks interned while node boots hold pcs of code V8
    // has not reported yet; the listing of existing code follows, then a STACK_RESET.
    const capture = new SyntheticCapture().thread(1);
    capture.alloc(0x1, 1, capture.stack([0x5010]));
    capture.alloc(0x2, 1, capture.stack([0x7010]));
    capture.code({ start: 0x5000, sizeBytes: 0x100, name: 'JS:~boot node:internal/main:3:1', script: 'node:internal/main', line: 3, column: 1 });
    capture.stackReset();
    // Code reported after the reset does not name a pc defined before it.
    capture.code({ start: 0x7000, sizeBytes: 0x100, name: 'JS:~late /app/late.js:1:1', script: '/app/late.js', line: 1, column: 1 });
    const model = await readSynthetic(capture);
    expect(allocatedFrames(model)).toEqual({
      'thread 1 > boot': { name: 'boot', file: 'node:internal/main', line: 3, column: 1, kind: FrameKind.NodeInternal },
      'thread 1 > [unknown 0x7010]': { name: '[unknown 0x7010]', file: '', line: 0, column: 0, kind: FrameKind.Native },
    });
  });

  it('are named by the code object there when the stack was defined, across moves and reuse', async () => {
    const capture = new SyntheticCapture().thread(1);
    capture.code({ start: 0x5000, sizeBytes: 0x100, name: 'JS:~first /app/a.js:1:1', script: '/app/a.js', line: 1, column: 1 });
    const beforeReuse = capture.stack([0x5010]);
    // V8 reuses the memory: a new code object overlapping the old one replaces it entirely.
    capture.code({ start: 0x5080, sizeBytes: 0x100, name: 'JS:~second /app/a.js:2:1', script: '/app/a.js', line: 2, column: 1 });
    capture.stackReset();
    const oldAddressAfterReuse = capture.stack([0x5010]);
    const secondStack = capture.stack([0x5090]);
    capture.codeMove(0x5080, 0x9000);
    const afterMove = capture.stack([0x9010]);
    const builtin = capture.stack([0x9200]);
    capture.code({ start: 0x9200, sizeBytes: 0x40, name: 'Builtin:ArrayMap', codeType: 1 });
    const builtinDefined = capture.stack([0x9210]);
    capture.alloc(0x10, 1, oldAddressAfterReuse).alloc(0x20, 1, secondStack).alloc(0x30, 1, afterMove)
      .alloc(0x40, 1, builtin).alloc(0x50, 1, builtinDefined);
    expect(beforeReuse).toBe(1);
    expect(oldAddressAfterReuse).toBe(1); // ids restart after STACK_RESET
    const model = await readSynthetic(capture);
    const names = Object.fromEntries(Object.entries(allocatedFrames(model)).map(([path, f]) => [path, f.kind]));
    expect(names).toEqual({
      'thread 1 > [unknown 0x5010]': FrameKind.Native,
      'thread 1 > second': FrameKind.UserJs,
      'thread 1 > [unknown 0x9200]': FrameKind.Native,
      'thread 1 > Builtin:ArrayMap': FrameKind.V8,
    });
  });
});

describe('native frames', () => {
  it('use the SYMBOL written at the end of the run, else library+offset from the MODULE', async () => {
    const capture = new SyntheticCapture().thread(1);
    capture.module('/usr/bin/node', 0x400000, [{ start: 0x401000, lengthBytes: 0x100000 }]);
    capture.module('/lib/x86_64-linux-gnu/libc.so.6', 0x7f0000000000, [{ start: 0x7f0000028000, lengthBytes: 0x1000 }]);
    const named = capture.stack([0x401234]);
    const sameFunctionOtherPc = capture.stack([0x401250]);
    const unnamed = capture.stack([0x7f0000028abc]);
    const outside = capture.stack([0x77]);
    capture.alloc(1, 1, named).alloc(2, 1, sameFunctionOtherPc).alloc(3, 1, unnamed).alloc(4, 1, outside);
    capture.symbol(0x401234, 'node::Start(int, char**)', '/usr/bin/node', 0);
    capture.symbol(0x401250, 'node::Start(int, char**)', '/usr/bin/node', 0);
    const model = await readSynthetic(capture, { flags: 1 });
    expect(model.meta.nativeFrames).toBe(true);
    expect(allocatedFrames(model)).toEqual({
      'thread 1 > node::Start(int, char**)': { name: 'node::Start(int, char**)', file: '/usr/bin/node', line: 0, column: 0, kind: FrameKind.Native },
      'thread 1 > libc.so.6+0x28abc': { name: 'libc.so.6+0x28abc', file: '/lib/x86_64-linux-gnu/libc.so.6', line: 0, column: 0, kind: FrameKind.Native },
      'thread 1 > [unknown 0x77]': { name: '[unknown 0x77]', file: '', line: 0, column: 0, kind: FrameKind.Native },
    });
  });

  it('hang under JavaScript frames, outermost first', async () => {
    const capture = new SyntheticCapture().thread(1);
    capture.module('/usr/bin/node', 0x400000, [{ start: 0x401000, lengthBytes: 0x100000 }]);
    const main = capture.jsFunction('JS:~main /app/m.js:1:1', '/app/m.js', 1, 1);
    const load = capture.jsFunction('JS:~load /app/m.js:5:1', '/app/m.js', 5, 1);
    capture.alloc(1, 64, capture.stack([0x401100, main, load, 0x402200]));
    const model = await readSynthetic(capture);
    expect(Object.keys(allocatedFrames(model))).toEqual(['thread 1 > node+0x1100 > main > load > node+0x2200']);
    expect(model.stats.topByBytes).toEqual([{ function: 'load', file: '/app/m.js', line: 5, bytes: 64, count: 1 }]);
  });
});
