// Vite compiles the browser code without checking types; this keeps viewer/ui and viewer/render
// type-correct (viewer/tsconfig.json: DOM, bundler resolution).
import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';

it('the browser code type-checks', { timeout: 120_000 }, () => {
  const root = new URL('../../', import.meta.url).pathname;
  let output = '';
  try {
    execFileSync('npx', ['tsc', '-p', 'viewer', '--noEmit'], { cwd: root, encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    output = String((error as { stdout?: string }).stdout ?? error);
  }
  expect(output).toBe('');
});
