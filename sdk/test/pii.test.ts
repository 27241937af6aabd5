// The shared PII cases (../tests/fixtures/pii_cases.json), which the Python tests run through
// ingest and transform, run here through the tracker: the browser drops what the server drops.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { cleanUrl, createTracker, looksPii, type Props, scrub } from '../src/tracker';
import { install } from './browser';

interface Cases {
  props: { name: string; in: Props; out: Props }[];
  urls: { name: string; in: string; out: string }[];
  values: { value: string; pii: boolean }[];
  keys: { key: string; pii: boolean }[];
}
const cases: Cases = JSON.parse(readFileSync('../tests/fixtures/pii_cases.json', 'utf8'));

describe('the shared PII cases', () => {
  for (const c of cases.props) test(`props: ${c.name}`, () => assert.deepEqual(scrub(c.in), c.out));
  for (const c of cases.urls) test(`url: ${c.name}`, () => assert.equal(cleanUrl(c.in), c.out));
  for (const c of cases.values) test(`value: ${c.value}`, () => assert.equal(looksPii(c.value), c.pii));
  for (const c of cases.keys)
    test(`key: ${c.key}`, () => assert.deepEqual(scrub({ [c.key]: 1 }), c.pii ? {} : { [c.key]: 1 }));

  test('as the tracker sends them: props of track.click, page_url and referrer of the page', async () => {
    for (const c of cases.props) {
      const browser = install();
      const cs = createTracker({ autoPageview: false });
      cs.track.click(c.in);
      await cs.flush();
      await browser.until(() => browser.events().length == 1);
      assert.deepEqual(browser.events()[0]!.props, c.out, c.name);
    }
    for (const c of cases.urls) {
      const browser = install({ href: c.in, referrer: c.in });
      const cs = createTracker({ autoPageview: false });
      cs.page();
      await cs.flush();
      await browser.until(() => browser.events().length == 1);
      const [event] = browser.events();
      assert.deepEqual([event!.page_url, event!.referrer], [c.out, c.out], c.name);
    }
  });
});
