// The table and `memview summary` list whole functions: a function that allocates or calls from
// several lines is one row, its figures added up without counting a path twice.
import { describe, expect, it } from 'vitest';
import { summaryText } from '../../cli/commands/summary.js';
import { plainPalette } from '../../cli/terminal/style.js';
import { functionGroups } from '../../viewer/model/function-groups.js';
import { functionTable } from '../../viewer/model/function-table.js';
import { frameName, linesLocation } from '../../viewer/model/frame-text.js';
import { modelFromSpecs, MiB, type FrameSpec } from '../../viewer/model/synthetic.js';
import { buildViewTree, defaultViewOptions } from '../../viewer/model/view-tree.js';
import { FrameKind } from '../../viewer/model/types.js';

const js = (name: string, line: number, file = '/app/server.js'): FrameSpec => ({ name, file, line, column: 3, kind: FrameKind.UserJs });
const thread: FrameSpec = { name: 'main', file: '', line: 0, column: 0, kind: FrameKind.Thread };

// main → build (line 4) → parse (line 20): 2 MiB; main → build (line 9) → parse (line 31): 1 MiB;
// main → build (line 9) → build (line 12, recursion) → parse (line 20): 4 MiB; main → handler, an
// anonymous function at line 50 and another at line 60 (1 MiB each); main → parse in another file.
function linesModel() {
  return modelFromSpecs([
    /* 1 */ { parent: 0, frame: thread },
    /* 2 */ { parent: 1, frame: js('main', 1) },
    /* 3 */ { parent: 2, frame: js('build', 4) },
    /* 4 */ { parent: 3, frame: js('parse', 20), peak: [2 * MiB, 2] },
    /* 5 */ { parent: 2, frame: js('build', 9) },
    /* 6 */ { parent: 5, frame: js('parse', 31), peak: [1 * MiB, 1] },
    /* 7 */ { parent: 5, frame: js('build', 12) },
    /* 8 */ { parent: 7, frame: js('parse', 20), peak: [4 * MiB, 4] },
    /* 9 */ { parent: 2, frame: js('(anonymous)', 50), peak: [1 * MiB, 1] },
    /* 10 */ { parent: 2, frame: js('(anonymous)', 60), peak: [1 * MiB, 1] },
    /* 11 */ { parent: 2, frame: js('parse', 7, '/app/other.js'), peak: [1 * MiB, 1] },
  ]);
}

describe('whole-function rows', () => {
  const model = linesModel();
  const tree = buildViewTree(model, { ...defaultViewOptions, mergeThreads: true });

  it('adds up a function\'s lines, and counts a recursive path through two of its lines once', () => {
    const rows = functionTable(tree, functionGroups(model));
    const byName = (name: string, file = '/app/server.js') =>
      rows.filter((row) => frameName(model, row.frame) === name && model.strings[model.frames.file[row.frame]] === file);
    const [build] = byName('build');
    expect(byName('build')).toHaveLength(1);
    expect(build).toMatchObject({ lines: 3, ownBytes: 0, totalBytes: 7 * MiB, totalCount: 7 });
    const [parse] = byName('parse');
    expect(parse).toMatchObject({ lines: 2, ownBytes: 7 * MiB, ownCount: 7, totalBytes: 7 * MiB });
    expect(linesLocation(model, parse.frame, parse.lines)).toBe('/app/server.js (2 lines)');
    // Same name, another file: another function.
    expect(byName('parse', '/app/other.js')).toMatchObject([{ lines: 1, ownBytes: 1 * MiB }]);
    // Two anonymous functions are not taken for one.
    expect(byName('(anonymous)').map((row) => row.ownBytes)).toEqual([1 * MiB, 1 * MiB]);
    expect(rows.find((row) => frameName(model, row.frame) === 'main')).toMatchObject({ totalBytes: 10 * MiB, lines: 1 });
  });

  it('gives one row per line without the groups', () => {
    const rows = functionTable(tree).filter((row) => frameName(model, row.frame) === 'build');
    expect(rows.map((row) => row.totalBytes).sort()).toEqual([2 * MiB, 4 * MiB, 5 * MiB].sort());
    expect(rows.every((row) => row.lines === 1)).toBe(true);
  });

  it('memview summary lists whole functions, and each line with --lines', () => {
    const options = { file: 'x.bin', view: 'peak' as const, sortKey: 'bytes' as const, rowLimit: 20, showInternals: true, columns: 120, palette: plainPalette };
    const whole = summaryText(model, options).split('\n');
    const buildLines = whole.filter((line) => /\bbuild\b/.test(line));
    expect(buildLines).toHaveLength(1);
    expect(buildLines[0]).toMatch(/7\.00 MiB\s+7\s+build\s+\/app\/server\.js \(3 lines\)$/);
    const byLine = summaryText(model, { ...options, byLine: true }).split('\n').filter((line) => /\bbuild\b/.test(line));
    expect(byLine).toHaveLength(3);
    expect(byLine[0]).toMatch(/5\.00 MiB\s+5\s+build\s+\/app\/server\.js:9:3$/);
  });
});
