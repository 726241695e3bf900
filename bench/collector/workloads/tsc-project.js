// Generates the small TypeScript project that the `tsc` workload compiles (a real npm program:
// node node_modules/typescript/bin/tsc -p <dir> --noEmit false --outDir <dir>/out).
// Usage: node tsc-project.js <directory> [modules]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function generateTypeScriptProject(directory, modules = 40) {
  mkdirSync(join(directory, 'src'), { recursive: true });
  writeFileSync(join(directory, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2020', module: 'commonjs', strict: true, declaration: true, sourceMap: true,
      outDir: 'out', rootDir: 'src', types: [], lib: ['ES2015'], skipLibCheck: true,
    },
    include: ['src/**/*.ts'],
  }, null, 2));
  for (let m = 0; m < modules; m++) {
    const lines = [];
    if (m > 0) lines.push(`import { Entity${m - 1}, Repository${m - 1} } from './module${m - 1}';`);
    lines.push(`export interface Entity${m} { id: number; name: string; tags: string[]; parent?: ${m > 0 ? `Entity${m - 1}` : 'undefined'}; }`);
    lines.push(`export type Key${m}<T> = { [K in keyof T]: T[K] extends string ? K : never }[keyof T];`);
    lines.push(`export class Repository${m}<T extends { id: number }> {`);
    lines.push('  private items = new Map<number, T>();');
    lines.push('  add(item: T): this { this.items.set(item.id, item); return this; }');
    lines.push('  find(predicate: (item: T) => boolean): T[] { return [...this.items.values()].filter(predicate); }');
    lines.push('  map<U>(mapper: (item: T, index: number) => U): U[] { return [...this.items.values()].map(mapper); }');
    lines.push('}');
    for (let f = 0; f < 12; f++) {
      lines.push(`export function transform${m}_${f}(input: Entity${m}[], factor: number): Array<{ key: string; value: number }> {`);
      lines.push(`  const repository = new Repository${m}<Entity${m}>();`);
      lines.push('  for (const entity of input) repository.add(entity);');
      lines.push(`  return repository.map((entity, index) => ({ key: \`\${entity.name}-${f}-\${index}\`, value: entity.id * factor + ${f} }));`);
      lines.push('}');
    }
    if (m > 0) lines.push(`export const previous${m}: Repository${m - 1}<Entity${m - 1}> = new Repository${m - 1}();`);
    writeFileSync(join(directory, 'src', `module${m}.ts`), lines.join('\n') + '\n');
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop())) {
  generateTypeScriptProject(process.argv[2], process.argv[3] ? Number(process.argv[3]) : undefined);
}
