/**
 * The clickstream tracker: builds events of the v1 contract (docs/event.schema.json,
 * without received_at, which ingest sets) and sends them in batches to POST /v1/events.
 *
 * - anonymous_id: made once per browser, kept in localStorage.
 * - session_id: kept in localStorage, rolled after 30 minutes without an event.
 * - sending: navigator.sendBeacon (application/json Blob); when the beacon is refused,
 *   fetch with retries, exponential backoff and jitter; when offline or out of retries,
 *   the batch waits in IndexedDB and is sent on the next 'online' event or page load.
 *   To an endpoint on another origin (a shop on its own domain), fetch only, without
 *   credentials: a beacon always carries them, and the API's CORS answer never allows them.
 * - product lists: track.impression(list, productIds) records a list shown (a category page, search
 *   results, recommendations; GA4's view_item_list) and track.click(props, ecom, list) a click on a
 *   product from it (select_item): the Products page's list CTR is list clicks / impressions.
 * - privacy: the PII rule set that ingest and transform apply too (../docs/PRIVACY.md),
 *   bundled from clickstream/core/pii_rules.json: personal props keys and values (names,
 *   e-mails, phone and card numbers, ...) are dropped at any depth, as are such query
 *   parameters of page_url and referrer, and identify() refuses an e-mail address or a
 *   phone number.
 */

import { card, email, keys, phone } from '../../clickstream/core/pii_rules.json';

export type EventType = 'view' | 'click' | 'search' | 'add_to_cart' | 'checkout' | 'purchase' | 'impression';
export type DeviceType = 'mobile' | 'desktop' | 'tablet';
export type Props = Record<string, unknown>;

export interface Ecom {
  product_id: string;
  category?: string | null;
  /** ISO-4217, e.g. "USD" */
  currency: string;
  price: number;
  qty?: number;
  /** The product's name as the shop shows it (at most 256 characters); the dashboards show it beside the id. */
  name?: string;
}

/** The product list an impression showed, or the list a click came from. */
export interface ItemList {
  name: string;
  product_ids?: string[];
}

export interface TrackedEvent {
  event_id: string;
  ts: string;
  event_type: EventType;
  session_id: string;
  anonymous_id: string;
  user_id: string | null;
  page_url: string | null;
  referrer: string | null;
  device: { type: DeviceType; user_agent: string };
  geo: Record<string, never>;
  ecom: Ecom | null;
  item_list?: ItemList;
  props: Props;
}

export interface Config {
  /** Where batches are POSTed. Default "/v1/events". */
  endpoint?: string;
  /** Events per request (at most 500); a full batch is sent at once. Default 20. */
  batchSize?: number;
  /** Bytes per request (at most 1 MB). Default 1_000_000. */
  maxBytes?: number;
  /** Milliseconds an event may wait for its batch to fill. Default 5000. */
  flushInterval?: number;
  /** fetch retries after the first attempt. Default 4. */
  retries?: number;
  /** Backoff base in milliseconds: attempt i waits base * 2^i, jittered down to half. Default 500. */
  retryBase?: number;
  /** Record a page view when the tracker starts. Default true. */
  autoPageview?: boolean;
}

export interface Tracker {
  /** A page view; a product page passes its product as ecom. */
  page(props?: Props, ecom?: Ecom | null): void;
  track: {
    /** A click; on a product (ecom) chosen from a list, pass the list's name: a list click. */
    click(props?: Props, ecom?: Ecom, list?: string): void;
    /** A list of products shown (its name, the ids in order; at most the first 200 distinct). */
    impression(list: string, productIds: string[], props?: Props): void;
    search(query: string, props?: Props): void;
    addToCart(ecom: Ecom, props?: Props): void;
    checkout(ecom?: Ecom | null, props?: Props): void;
    purchase(ecom: Ecom, props?: Props): void;
  };
  /** Sign-in: later events carry this user id (hashed by ingest). null signs out. */
  identify(userId: string | null): void;
  /** Send everything queued in memory now. */
  flush(): Promise<void>;
  anonymousId: string;
  sessionId(): string | null;
}

export const SESSION_IDLE_MS = 30 * 60 * 1000;
const MAX_EVENTS = 500;
const MAX_BYTES = 1_000_000;
const PREFIX = 'cs_';

// The PII rules (see clickstream/core/pii.py, which reads the same file the same way).
const KEYS = new Set(keys.exact);
const EMAIL = RegExp(email);
const PHONES = phone.whole.map((p) => RegExp(p));
const PHONE_IN = RegExp(phone.within);
const CARD = RegExp(card, 'g');
const digits = (v: string): string => v.replace(/[^0-9]/g, '');
const luhn = (d: string): boolean =>
  [...d].reverse().reduce((s, c, i) => s + (i % 2 ? [0, 2, 4, 6, 8, 1, 3, 5, 7, 9][+c]! : +c), 0) % 10 == 0;

/** True for a string that holds an e-mail address or a card number, or is (or holds an international) phone number. */
export const looksPii = (v: unknown): boolean =>
  typeof v == 'string' &&
  (EMAIL.test(v) ||
    PHONES.some((p) => p.test(v.trim())) ||
    (PHONE_IN.test(v) && digits(v).length >= phone.within_min_digits) ||
    [...v.matchAll(CARD)].some((m) => luhn(digits(m[1]!))));

/** True for a props key or query parameter name that is personal, or that itself looks like PII. */
const piiKey = (k: string): boolean => {
  const c = k.toLowerCase().replace(/[^a-z0-9]/g, '');
  return KEYS.has(c) || keys.contains.some((p) => c.includes(p)) || looksPii(k);
};

const clean = (v: unknown): unknown =>
  Array.isArray(v) ? v.filter((x) => !looksPii(x)).map(clean) : v && typeof v == 'object' ? scrub(v as Props) : v;

/** props without personal keys and values, at any depth (objects and arrays). */
export const scrub = (o: Props = {}): Props => {
  const out: Props = {};
  for (const k in o) if (!piiKey(k) && !looksPii(o[k])) out[k] = clean(o[k]);
  return out;
};

// A query parameter judged decoded ('+' is a space; a malformed %-escape stays as written).
const decode = (s: string): string =>
  s.replace(/\+/g, ' ').replace(/(%[0-9a-f]{2})+/gi, (m) => {
    try {
      return decodeURIComponent(m);
    } catch {
      return m;
    }
  });

/** A URL without the query parameters that look like PII; null when empty or not a URL. */
export const cleanUrl = (u: string): string | null => {
  try {
    new URL(u);
  } catch {
    return null;
  }
  const q = u.indexOf('?');
  const h = u.indexOf('#');
  const end = h < 0 ? u.length : h;
  if (q < 0 || q > end) return u.slice(0, 4096);
  const params = u.slice(q + 1, end).split('&');
  const kept = params.filter((p) => {
    const i = p.indexOf('=');
    return !piiKey(decode(i < 0 ? p : p.slice(0, i))) && !looksPii(decode(i < 0 ? '' : p.slice(i + 1)));
  });
  const query = kept.join('&');
  return (kept.length == params.length ? u : u.slice(0, q) + (query ? '?' + query : '') + u.slice(end)).slice(0, 4096);
};

const rnd = (): number => {
  const c = globalThis.crypto;
  return c?.getRandomValues ? c.getRandomValues(new Uint8Array(1))[0]! : (Math.random() * 256) | 0;
};

/** A UUID v4: crypto.randomUUID where there is one, else from getRandomValues or Math.random. */
export const uuid = (): string =>
  globalThis.crypto?.randomUUID?.() ??
  '10000000-1000-4000-8000-100000000000'.replace(/[018]/g, (c) =>
    (+c ^ (rnd() & (15 >> (+c / 4)))).toString(16),
  );

export const deviceType = (ua: string, width?: number, touch?: number): DeviceType =>
  /iPad|Tablet|PlayBook|Silk|Kindle|Android(?!.*Mobi)/i.test(ua) || (/Macintosh/.test(ua) && touch! > 1)
    ? 'tablet'
    : /Mobi|iPhone|iPod|Android|Windows Phone/i.test(ua) || width! < 600
      ? 'mobile'
      : 'desktop';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const size = (s: string) => new Blob([s]).size;

// The offline queue: one IndexedDB record per batch.
const idb = <T>(mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    const open = indexedDB.open('clickstream', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('q', { autoIncrement: true });
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction('q', mode);
      const req = op(tx.objectStore('q'));
      tx.oncomplete = () => (db.close(), resolve(req.result));
      tx.onerror = tx.onabort = () => (db.close(), reject(tx.error));
    };
  });

export function createTracker(config: Config = {}): Tracker {
  const endpoint = config.endpoint || '/v1/events';
  let crossOrigin = false;
  try {
    crossOrigin = new URL(endpoint, location.href).origin != new URL(location.href).origin;
  } catch {
    // no URL or no location: treat it as the page's own origin
  }
  const batchSize = Math.min(config.batchSize || 20, MAX_EVENTS);
  const maxBytes = Math.min(config.maxBytes || MAX_BYTES, MAX_BYTES);
  const interval = config.flushInterval ?? 5000;
  const retries = config.retries ?? 4;
  const base = config.retryBase ?? 500;
  const memory: Record<string, string> = {};
  const get = (k: string): string | null => {
    try {
      return localStorage.getItem(PREFIX + k);
    } catch {
      return memory[k] ?? null;
    }
  };
  const set = (k: string, v: string | null): void => {
    try {
      v == null ? localStorage.removeItem(PREFIX + k) : localStorage.setItem(PREFIX + k, v);
    } catch {
      v == null ? delete memory[k] : (memory[k] = v);
    }
  };
  let queue: TrackedEvent[] = [];
  let timer: ReturnType<typeof setTimeout> | 0 = 0;
  let draining = false;

  let anonymousId = get('aid');
  if (!anonymousId) set('aid', (anonymousId = uuid()));

  const session = (now: number): string => {
    let sid = get('sid');
    if (!sid || now - Number(get('last')) > SESSION_IDLE_MS) set('sid', (sid = uuid()));
    set('last', '' + now);
    return sid;
  };

  const save = (batch: TrackedEvent[]): Promise<void> =>
    idb('readwrite', (s) => s.add(batch)).then(
      () => {},
      () => void queue.unshift(...batch), // no IndexedDB: keep it in memory for the next flush
    );

  const deliver = async (batch: TrackedEvent[], unloading?: boolean): Promise<void> => {
    if (navigator.onLine === false) return save(batch);
    const body = JSON.stringify(batch);
    const keepalive = body.length < 60000;
    try {
      if (!crossOrigin && navigator.sendBeacon?.(endpoint, new Blob([body], { type: 'application/json' })))
        return;
    } catch {
      // a beacon the browser refuses to queue: fetch below
    }
    // The page is going: the next page load sends it (another origin: a keepalive fetch outlives the page).
    if (unloading && !(crossOrigin && keepalive)) return save(batch);
    for (let i = 0; ; i++) {
      let wait = 0;
      try {
        const r = await fetch(endpoint, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json' },
          keepalive,
          credentials: 'omit',
        });
        // Accepted, or refused for good (400, 413): nothing to retry.
        if (r.status < 500 && r.status != 429 && r.status != 408) return;
        wait = 1000 * Number(r.headers.get('retry-after')) || 0;
      } catch {
        // network error: retry
      }
      if (i >= retries) return save(batch);
      await sleep(Math.max(wait, base * 2 ** i * (0.5 + Math.random() / 2)));
    }
  };

  const flush = (unloading?: boolean): Promise<void> => {
    clearTimeout(timer);
    timer = 0;
    const batches: TrackedEvent[][] = [];
    let cur: TrackedEvent[] = [];
    let bytes = 2;
    for (const e of queue.splice(0)) {
      const n = size(JSON.stringify(e)) + 1;
      if (cur.length && (cur.length >= batchSize || bytes + n > maxBytes)) batches.push(cur), (cur = []), (bytes = 2);
      cur.push(e);
      bytes += n;
    }
    if (cur.length) batches.push(cur);
    return Promise.all(batches.map((b) => deliver(b, unloading))).then(() => {});
  };

  // Send what earlier pages left in IndexedDB: deliver first, then delete (a crash between
  // the two makes a duplicate, which the pipeline removes, never a loss).
  const drain = async (): Promise<void> => {
    if (draining || navigator.onLine === false) return;
    draining = true;
    try {
      for (const key of await idb('readonly', (s) => s.getAllKeys())) {
        const batch = await idb<TrackedEvent[] | undefined>('readonly', (s) => s.get(key));
        if (batch) await deliver(batch);
        await idb('readwrite', (s) => s.delete(key));
      }
    } catch {
      // no IndexedDB here
    } finally {
      draining = false;
    }
  };

  const record = (type: EventType, ecom?: Ecom | null, props?: Props, item_list?: ItemList): void => {
    const now = Date.now();
    const ua = navigator.userAgent || '';
    queue.push({
      event_id: uuid(),
      ts: new Date(now).toISOString(),
      event_type: type,
      session_id: session(now),
      anonymous_id: anonymousId!,
      user_id: get('uid'),
      page_url: cleanUrl(location.href),
      referrer: cleanUrl(document.referrer),
      device: {
        type: deviceType(ua, globalThis.screen?.width, navigator.maxTouchPoints),
        user_agent: ua.slice(0, 1024),
      },
      geo: {},
      ecom: ecom ? { ...ecom, category: ecom.category ?? null, qty: ecom.qty ?? 1 } : null,
      item_list,
      props: scrub(props),
    });
    if (queue.length >= batchSize) flush();
    else timer ||= setTimeout(flush, interval);
  };

  addEventListener('online', () => (flush(), drain()));
  addEventListener('pagehide', () => flush(true));
  document.addEventListener('visibilitychange', () => document.visibilityState == 'hidden' && flush(true));

  const tracker: Tracker = {
    page: (props, ecom) => record('view', ecom, props),
    track: {
      click: (props, ecom, list) => record('click', ecom, props, list && ecom ? { name: list } : undefined),
      impression: (list, ids, props) =>
        ids.length && record('impression', null, props, { name: list, product_ids: [...new Set(ids)].slice(0, 200) }),
      search: (query, props) => record('search', null, { ...props, search_query: query }),
      addToCart: (ecom, props) => record('add_to_cart', ecom, props),
      checkout: (ecom, props) => record('checkout', ecom, props),
      purchase: (ecom, props) => record('purchase', ecom, props),
    },
    identify(userId) {
      if (looksPii(userId) || /@/.test(userId || ''))
        return console.warn('clickstream: identify() takes an opaque user id, not an e-mail or phone');
      set('uid', userId || null);
    },
    flush: () => flush(),
    anonymousId: anonymousId!,
    sessionId: () => get('sid'),
  };
  if (config.autoPageview !== false) tracker.page();
  drain();
  return tracker;
}
