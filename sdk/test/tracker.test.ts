import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { afterEach, describe, mock, test } from 'node:test';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import {
  cleanUrl,
  createTracker,
  deviceType,
  looksPii,
  SESSION_IDLE_MS,
  scrub,
  type TrackedEvent,
  uuid,
} from '../src/tracker';
import { type Browser, install } from './browser';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const LAPTOP = { product_id: 'sku-lap-001', category: 'laptops', currency: 'USD', price: 1299.99 };

// The contract's schema is for raw lines, which carry received_at (set by ingest).
// A tracked event is a raw line without it: validate both ways.
const rawSchema = JSON.parse(readFileSync('../docs/event.schema.json', 'utf8'));
const trackedSchema = structuredClone(rawSchema);
trackedSchema.$id = 'https://clickstream.local/schemas/tracked-event/v1.json';
trackedSchema.required = trackedSchema.required.filter((f: string) => f !== 'received_at');
delete trackedSchema.properties.received_at;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
const validateRaw = ajv.compile(rawSchema);
const validateTracked = ajv.compile(trackedSchema);

afterEach(() => mock.restoreAll());

/** IndexedDB writes finish after the tracker's promises: poll until n batches are stored. */
async function storedBatches(browser: Browser, n: number): Promise<TrackedEvent[][]> {
  for (let i = 0; i < 200; i++) {
    const stored = await browser.stored();
    if (stored.length == n) return stored;
    await new Promise((r) => setTimeout(r, 5));
  }
  return browser.stored();
}

describe('identity', () => {
  test('anonymous_id is made once per browser and kept', () => {
    const browser = install();
    const first = createTracker({ autoPageview: false });
    assert.match(first.anonymousId, UUID_V4);
    // Given the same localStorage (a second page), When a tracker starts, Then the id is the same.
    install({ storage: browser.storage });
    assert.equal(createTracker({ autoPageview: false }).anonymousId, first.anonymousId);
    // A different browser gets a different id.
    install();
    assert.notEqual(createTracker({ autoPageview: false }).anonymousId, first.anonymousId);
  });

  test('session_id rolls after 30 minutes without an event, not before', async () => {
    const browser = install();
    mock.timers.enable({ apis: ['Date'], now: Date.parse('2025-10-18T12:00:00Z') });
    const cs = createTracker({ autoPageview: false });
    cs.page();
    const first = cs.sessionId();
    assert.match(first!, UUID_V4);
    mock.timers.tick(SESSION_IDLE_MS - 1000); // 29:59 idle: same session
    cs.track.click({ target: 'nav' });
    assert.equal(cs.sessionId(), first);
    mock.timers.tick(SESSION_IDLE_MS - 1000); // activity keeps it alive
    cs.page();
    assert.equal(cs.sessionId(), first);
    mock.timers.tick(SESSION_IDLE_MS + 1); // more than 30 min idle: a new session
    cs.page();
    const second = cs.sessionId();
    assert.notEqual(second, first);
    assert.match(second!, UUID_V4);
    await cs.flush();
    await browser.until(() => browser.events().length == 4);
    assert.deepEqual(
      browser.events().map((e) => e.session_id),
      [first, first, first, second],
    );
    assert.equal(browser.events()[3]!.ts, '2025-10-18T13:29:58.001Z');
  });

  test('a new page in the same browser continues the session', async () => {
    const browser = install();
    const cs = createTracker();
    install({ storage: browser.storage });
    const next = createTracker();
    assert.equal(next.sessionId(), cs.sessionId());
    await Promise.all([cs.flush(), next.flush()]);
  });

  test('identify sets user_id, null signs out, an e-mail or phone is refused with a warning', async () => {
    const browser = install();
    const warn = mock.method(console, 'warn', () => {});
    const cs = createTracker({ autoPageview: false });
    cs.identify('bob@example.com');
    cs.page();
    cs.identify('+84 912 345 678');
    cs.page();
    assert.equal(warn.mock.callCount(), 2);
    cs.identify('3f1c2a9e-cognito-sub');
    cs.page();
    cs.identify(null);
    cs.page();
    await cs.flush();
    await browser.until(() => browser.events().length == 4);
    assert.deepEqual(
      browser.events().map((e) => e.user_id),
      [null, null, '3f1c2a9e-cognito-sub', null],
    );
  });
});

describe('events follow the contract', () => {
  test('every event type validates against docs/event.schema.json', async () => {
    const browser = install({ referrer: 'https://www.google.com/' });
    const cs = createTracker();
    cs.track.click({ target: 'hero-banner' });
    cs.track.search('rtx 4070 laptop');
    cs.track.addToCart({ ...LAPTOP, qty: 2 });
    cs.track.checkout(LAPTOP);
    cs.track.checkout();
    cs.track.purchase({ ...LAPTOP, category: undefined }, { order_id: 'ord-7h2k' });
    await cs.flush();
    await browser.until(() => browser.events().length == 7);
    const events = browser.events();
    assert.deepEqual(
      events.map((e) => e.event_type),
      ['view', 'click', 'search', 'add_to_cart', 'checkout', 'checkout', 'purchase'],
    );
    for (const e of events) {
      assert.ok(validateTracked(e), JSON.stringify(validateTracked.errors));
      assert.ok(!('received_at' in e), 'the client never sets received_at');
      const line = { ...e, received_at: new Date().toISOString() };
      assert.ok(validateRaw(line), JSON.stringify(validateRaw.errors));
      assert.match(e.event_id, UUID_V4);
      assert.match(e.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(e.anonymous_id, cs.anonymousId);
      assert.equal(e.page_url, 'https://shop.example/product.html?id=sku-lap-001');
      assert.equal(e.referrer, 'https://www.google.com/');
      assert.deepEqual(e.device, { type: 'desktop', user_agent: navigator.userAgent });
      assert.deepEqual(e.geo, {});
    }
    assert.equal(new Set(events.map((e) => e.event_id)).size, 7);
    const [view, click, search, add, checkout, bareCheckout, purchase] = events;
    assert.equal(view!.ecom, null);
    assert.deepEqual(click!.props, { target: 'hero-banner' });
    assert.deepEqual(search!.props, { search_query: 'rtx 4070 laptop' });
    assert.deepEqual(add!.ecom, { ...LAPTOP, qty: 2 });
    assert.deepEqual(checkout!.ecom, { ...LAPTOP, qty: 1 });
    assert.equal(bareCheckout!.ecom, null);
    assert.deepEqual(purchase!.ecom, { ...LAPTOP, category: null, qty: 1 });
    assert.deepEqual(purchase!.props, { order_id: 'ord-7h2k' });
  });

  test('a list impression and a click from the list validate, name the list and carry what they need', async () => {
    const browser = install();
    const cs = createTracker({ autoPageview: false });
    cs.track.impression('category:laptops', ['sku-lap-001', 'sku-lap-002', 'sku-lap-001'], { page: 1 });
    cs.track.impression('search_results', []); // nothing shown: nothing recorded
    cs.track.click({ element: 'product_tile' }, LAPTOP, 'category:laptops');
    cs.track.click({ element: 'banner' }, undefined, 'category:laptops'); // no product: not a list click
    cs.track.impression('recommendations', Array.from({ length: 250 }, (_, i) => `sku-${i}`));
    await cs.flush();
    await browser.until(() => browser.events().length == 4);
    const [shown, clicked, banner, long] = browser.events();
    for (const e of browser.events()) {
      assert.ok(validateTracked(e), JSON.stringify(validateTracked.errors));
      assert.ok(validateRaw({ ...e, received_at: new Date().toISOString() }), JSON.stringify(validateRaw.errors));
    }
    assert.equal(shown!.event_type, 'impression');
    assert.equal(shown!.ecom, null);
    assert.deepEqual(shown!.item_list, { name: 'category:laptops', product_ids: ['sku-lap-001', 'sku-lap-002'] });
    assert.deepEqual(shown!.props, { page: 1 });
    assert.deepEqual(clicked!.item_list, { name: 'category:laptops' });
    assert.deepEqual(clicked!.ecom, { ...LAPTOP, qty: 1 });
    assert.ok(!('item_list' in banner!));
    assert.equal(long!.item_list!.product_ids!.length, 200); // the contract's most: the first 200
    // the schema refuses an impression without products, and a list click without its product
    const bare = { ...shown!, received_at: new Date().toISOString() };
    assert.ok(!validateRaw({ ...bare, item_list: { name: 'x' } }));
    assert.ok(!validateRaw({ ...bare, event_type: 'click', item_list: { name: 'x' }, ecom: null }));
  });

  test('an empty referrer is null', async () => {
    const browser = install({ referrer: '' });
    const cs = createTracker();
    await cs.flush();
    await browser.until(() => browser.events().length == 1);
    assert.equal(browser.events()[0]!.referrer, null);
  });

  test('device type comes from the user agent, then the screen', () => {
    const iphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148';
    const ipad = 'Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148';
    const pixel = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36';
    const tab = 'Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 Chrome/126.0 Safari/537.36';
    const mac = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Safari/605.1.15';
    assert.equal(deviceType(iphone), 'mobile');
    assert.equal(deviceType(pixel), 'mobile');
    assert.equal(deviceType(ipad), 'tablet');
    assert.equal(deviceType(tab), 'tablet');
    assert.equal(deviceType(mac, 1440, 0), 'desktop');
    assert.equal(deviceType(mac, 1024, 5), 'tablet'); // iPadOS asks for the desktop site
    assert.equal(deviceType('curl/8', 390), 'mobile');
    assert.equal(deviceType('curl/8'), 'desktop');
  });

  test('uuid() falls back to getRandomValues, then Math.random, when randomUUID is missing', () => {
    const real = globalThis.crypto;
    try {
      Object.defineProperty(globalThis, 'crypto', {
        value: { getRandomValues: real.getRandomValues.bind(real) },
        configurable: true,
      });
      const ids = Array.from({ length: 200 }, uuid);
      for (const id of ids) assert.match(id, UUID_V4);
      assert.equal(new Set(ids).size, 200);
      Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true });
      assert.match(uuid(), UUID_V4);
    } finally {
      Object.defineProperty(globalThis, 'crypto', { value: real, configurable: true });
    }
  });
});

describe('privacy', () => {
  test('props keys and values that look like names, e-mails or phone numbers are dropped', async () => {
    const browser = install({
      href: 'https://shop.example/search.html?q=ssd&email=bob%40example.com&utm_source=news&phone=0912345678',
      referrer: 'https://mail.example/?to=alice@example.com',
    });
    const cs = createTracker({ autoPageview: false });
    cs.track.click({
      email: 'x',
      first_name: 'Bob',
      name: 'Bob Smith',
      phone: '1',
      note: 'write to bob@example.com',
      callback: '+1 (415) 555-0100',
      digits: '0912 345 678',
      nested: { e_mail: 'y', ok: 1 },
      product_name: 'ThinkPad X1',
      resolution: '1920 1080',
      order_id: 'ord-20251018-123456',
      uuid: '12345678-1234-4123-8123-123456789012',
      qty: 3,
    });
    cs.track.search('bob@example.com');
    await cs.flush();
    await browser.until(() => browser.events().length == 2);
    const [click, search] = browser.events();
    assert.deepEqual(click!.props, {
      nested: { ok: 1 },
      product_name: 'ThinkPad X1',
      resolution: '1920 1080',
      order_id: 'ord-20251018-123456',
      uuid: '12345678-1234-4123-8123-123456789012',
      qty: 3,
    });
    assert.deepEqual(search!.props, {});
    assert.equal(click!.page_url, 'https://shop.example/search.html?q=ssd&utm_source=news');
    assert.equal(click!.referrer, 'https://mail.example/');
    assert.ok(!JSON.stringify(browser.events()).includes('bob@'));
  });

  test('helpers', () => {
    assert.ok(looksPii('someone@shop.co'));
    assert.ok(looksPii('+44 20 7946 0958'));
    assert.ok(looksPii('(415) 555-0100'));
    assert.ok(!looksPii('sku-12345678'));
    assert.ok(!looksPii('2025-10-18'));
    assert.ok(!looksPii(123456789));
    assert.deepEqual(scrub(), {});
    assert.equal(cleanUrl(''), null);
    assert.equal(cleanUrl('not a url'), null);
    assert.equal(cleanUrl('https://a.example/p?id=1&tel=5'), 'https://a.example/p?id=1');
  });
});

describe('sending', () => {
  test('events are batched and sent with sendBeacon as an application/json Blob', async () => {
    const browser = install();
    const cs = createTracker({ batchSize: 3, autoPageview: false, endpoint: 'https://shop.example/v1/events' });
    for (let i = 0; i < 7; i++) cs.track.click({ i });
    // Two full batches go at once; the seventh event waits for its batch or the flush timer.
    await browser.until(() => browser.sent.length == 2);
    await cs.flush();
    await browser.until(() => browser.sent.length == 3);
    assert.deepEqual(
      browser.sent.map((s) => [s.via, s.url, s.type, s.events.length]),
      [
        ['beacon', 'https://shop.example/v1/events', 'application/json', 3],
        ['beacon', 'https://shop.example/v1/events', 'application/json', 3],
        ['beacon', 'https://shop.example/v1/events', 'application/json', 1],
      ],
    );
    assert.deepEqual(
      browser.events().map((e) => e.props.i),
      [0, 1, 2, 3, 4, 5, 6],
    );
  });

  test('to an endpoint on another origin, batches go by fetch without credentials, never a beacon', async () => {
    // A shop on its own domain posting to the API's (CORS): a beacon would carry the browser's
    // credentials, which the API's CORS answer never allows, and be dropped without a word.
    const api = 'https://d111111abcdef8.cloudfront.net/v1/events';
    const browser = install({ href: 'https://www.myshop.example/product.html' });
    const cs = createTracker({ batchSize: 2, autoPageview: false, endpoint: api });
    cs.track.click({ i: 0 });
    cs.track.click({ i: 1 });
    await browser.until(() => browser.sent.length == 1);
    assert.deepEqual(
      browser.sent.map((s) => [s.via, s.url, s.type, s.credentials, s.keepalive, s.events.length]),
      [['fetch', api, 'application/json', 'omit', true, 2]],
    );
    // and when the page goes, a keepalive fetch, not IndexedDB for a next page that may never come
    cs.track.click({ i: 2 });
    browser.document.visibilityState = 'hidden';
    browser.document.dispatchEvent(new Event('visibilitychange'));
    await browser.until(() => browser.sent.length == 2);
    assert.equal(browser.sent[1]!.via, 'fetch');
    assert.deepEqual(await browser.stored(), []);
  });

  test('the default endpoint is /v1/events and the flush timer sends a partial batch', async () => {
    const browser = install();
    createTracker({ flushInterval: 10 });
    await browser.until(() => browser.sent.length == 1);
    assert.equal(browser.sent[0]!.url, '/v1/events');
  });

  test('a request holds at most 500 events and at most maxBytes', async () => {
    const browser = install();
    const cs = createTracker({ batchSize: 10_000, autoPageview: false });
    for (let i = 0; i < 501; i++) cs.track.click({ i });
    await cs.flush();
    await browser.until(() => browser.events().length == 501);
    assert.deepEqual(
      browser.sent.map((s) => s.events.length),
      [500, 1],
    );

    const small = install();
    const cs2 = createTracker({ autoPageview: false, maxBytes: 3000 });
    for (let i = 0; i < 10; i++) cs2.track.click({ i });
    await cs2.flush();
    await small.until(() => small.events().length == 10);
    assert.ok(small.sent.length >= 2);
    for (const s of small.sent) assert.ok(new Blob([JSON.stringify(s.events)]).size <= 3000);
  });

  test('pagehide and visibilitychange to hidden flush the queue', async () => {
    const browser = install();
    const cs = createTracker({ flushInterval: 60_000 });
    dispatchEvent(new Event('pagehide'));
    await browser.until(() => browser.sent.length == 1);
    cs.track.click();
    browser.document.visibilityState = 'hidden';
    browser.document.dispatchEvent(new Event('visibilitychange'));
    await browser.until(() => browser.sent.length == 2);
    assert.deepEqual(
      browser.sent.map((s) => s.via),
      ['beacon', 'beacon'],
    );
  });

  test('when the beacon is refused, fetch retries with exponential backoff and jitter', async () => {
    const browser = install({
      beacon: false,
      fetchReplies: [new TypeError('network down'), 503, { status: 429, headers: { 'retry-after': '3' } }, 202],
    });
    const cs = createTracker({ autoPageview: false, retryBase: 100 });
    cs.track.search('usb-c dock');
    const waits: number[] = [];
    const realSetTimeout = globalThis.setTimeout;
    mock.method(globalThis, 'setTimeout', (fn: () => void, ms: number) => {
      waits.push(ms);
      return realSetTimeout(fn, 0);
    });
    await cs.flush();
    assert.equal(browser.fetchCalls, 4);
    assert.equal(browser.sent.length, 1);
    assert.equal(browser.sent[0]!.via, 'fetch');
    assert.equal(browser.sent[0]!.type, 'application/json');
    assert.equal(browser.events()[0]!.props.search_query, 'usb-c dock');
    assert.equal(waits.length, 3);
    assert.ok(waits[0]! >= 50 && waits[0]! <= 100, `first wait ${waits[0]}`);
    assert.ok(waits[1]! >= 100 && waits[1]! <= 200, `second wait ${waits[1]}`);
    assert.equal(waits[2], 3000, 'Retry-After wins over a shorter backoff');
    assert.deepEqual(await browser.stored(), []);
  });

  test('a 400 or 413 is not retried', async () => {
    const browser = install({ beacon: false, fetchReplies: [400] });
    const cs = createTracker({ autoPageview: false, retryBase: 1 });
    cs.track.click();
    await cs.flush();
    assert.equal(browser.fetchCalls, 1);
    assert.deepEqual(await browser.stored(), []);
  });

  test('out of retries, the batch waits in IndexedDB and the next page sends it', async () => {
    const browser = install({ beacon: false, fetchReplies: [500, 500, 500] });
    const cs = createTracker({ autoPageview: false, retries: 2, retryBase: 1 });
    cs.track.addToCart(LAPTOP);
    await cs.flush();
    assert.equal(browser.fetchCalls, 3);
    const stored = await browser.stored();
    assert.equal(stored.length, 1);
    assert.equal(stored[0]![0]!.event_type, 'add_to_cart');

    // The next page load (same browser, same IndexedDB) drains the queue.
    const db = indexedDB;
    const next = install({ storage: browser.storage });
    Object.defineProperty(globalThis, 'indexedDB', { value: db, configurable: true, writable: true });
    createTracker({ autoPageview: false });
    await next.until(() => next.events().length == 1);
    assert.equal(next.events()[0]!.event_id, stored[0]![0]!.event_id);
    assert.deepEqual(await storedBatches(next, 0), []);
  });
});

describe('offline', () => {
  test('offline events are queued in IndexedDB and sent on reconnect', async () => {
    const browser = install({ online: false });
    const cs = createTracker({ autoPageview: false });
    cs.page();
    cs.track.addToCart(LAPTOP);
    await cs.flush();
    cs.track.checkout(LAPTOP);
    dispatchEvent(new Event('pagehide'));
    await browser.until(() => true);
    // Given no network, Then nothing was sent and both batches wait in IndexedDB.
    const stored = await storedBatches(browser, 2);
    assert.equal(browser.sent.length, 0);
    assert.equal(browser.fetchCalls, 0);
    assert.deepEqual(
      stored.map((b) => b.map((e) => e.event_type)),
      [['view', 'add_to_cart'], ['checkout']],
    );

    // When the browser is back online, Then the queue is sent, in order, and emptied.
    browser.setOnline(true);
    await browser.until(() => browser.events().length == 3);
    assert.deepEqual(
      browser.events().map((e) => e.event_type),
      ['view', 'add_to_cart', 'checkout'],
    );
    assert.deepEqual(await storedBatches(browser, 0), []);
  });

  test('without IndexedDB an offline batch stays in memory for the next flush', async () => {
    const browser = install({ online: false });
    Object.defineProperty(globalThis, 'indexedDB', { value: undefined, configurable: true, writable: true });
    const cs = createTracker({ autoPageview: false });
    cs.track.click({ n: 1 });
    await cs.flush();
    assert.equal(browser.sent.length, 0);
    browser.setOnline(true);
    await browser.until(() => browser.events().length == 1);
    assert.equal(browser.events()[0]!.props.n, 1);
  });
});
