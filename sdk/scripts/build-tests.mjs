// Compiles test/*.test.ts to .test-build/ for `node --test` (dependencies stay external).
import { readdirSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('.test-build', { recursive: true, force: true });
await build({
  entryPoints: readdirSync('test')
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => `test/${f}`),
  outdir: '.test-build',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: ['node20'],
  sourcemap: 'inline',
  logLevel: 'warning',
});
