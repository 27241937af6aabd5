// Builds dist/tracker.min.js (IIFE, window.clickstream) and dist/tracker.mjs (ESM, createTracker).
import { build } from 'esbuild';

const common = { bundle: true, minify: true, target: ['es2020'], legalComments: 'none', logLevel: 'warning' };
await build({ ...common, entryPoints: ['src/iife.ts'], format: 'iife', outfile: 'dist/tracker.min.js' });
await build({ ...common, entryPoints: ['src/tracker.ts'], format: 'esm', outfile: 'dist/tracker.mjs' });
