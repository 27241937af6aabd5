// Fails when the browser bundle is over its budget: 3072 bytes minified and gzipped.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const BUDGET = 3072;
let failed = false;
for (const file of ['dist/tracker.min.js', 'dist/tracker.mjs']) {
  const raw = readFileSync(file);
  const gz = gzipSync(raw, { level: 9 }).length;
  console.log(`${file}: ${raw.length} bytes, ${gz} bytes gzipped (budget ${BUDGET})`);
  if (gz > BUDGET) failed = true;
}
if (failed) {
  console.error(`size check failed: over ${BUDGET} bytes gzipped`);
  process.exit(1);
}
