// The built <script> bundle (dist/tracker.min.js, made by `npm run build`) works on its own.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { runInThisContext } from 'node:vm';
import type { Tracker } from '../src/tracker';
import { install } from './browser';

test('dist/tracker.min.js exposes window.clickstream and records the page view', async () => {
  const browser = install();
  const win = globalThis as unknown as { window: unknown; clickstream?: Tracker; clickstreamConfig?: object };
  win.window = globalThis;
  win.clickstreamConfig = { endpoint: '/collect', flushInterval: 60_000 };
  try {
    runInThisContext(readFileSync('dist/tracker.min.js', 'utf8'));
    const cs = win.clickstream!;
    cs.track.addToCart({ product_id: 'sku-mou-001', category: 'mice', currency: 'USD', price: 49 });
    await cs.flush();
    await browser.until(() => browser.events().length == 2);
    assert.deepEqual(
      browser.events().map((e) => e.event_type),
      ['view', 'add_to_cart'],
    );
    assert.equal(browser.sent[0]!.url, '/collect');
  } finally {
    delete win.clickstream;
    delete win.clickstreamConfig;
  }
});
