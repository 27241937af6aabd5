// A minimal hand-made browser for the tracker's tests: window events, document,
// navigator (sendBeacon, onLine), localStorage, location, screen, fetch and a fresh
// fake IndexedDB. install() replaces the globals; every test installs its own.
import { IDBFactory } from 'fake-indexeddb';
import type { TrackedEvent } from '../src/tracker';

export const DESKTOP_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

export interface Sent {
  via: 'beacon' | 'fetch';
  url: string;
  type: string;
  events: TrackedEvent[];
  /** fetch only: its credentials mode and keepalive flag. */
  credentials?: RequestCredentials;
  keepalive?: boolean;
}

export type FetchReply = number | { status: number; headers?: Record<string, string> } | Error;

export interface BrowserOptions {
  /** What sendBeacon returns; false makes the tracker fall back to fetch. */
  beacon?: boolean;
  /** Replies of successive fetch calls (a status, or an Error to throw); then 202. */
  fetchReplies?: FetchReply[];
  userAgent?: string;
  screenWidth?: number;
  online?: boolean;
  href?: string;
  referrer?: string;
  /** Keep this localStorage (the same browser, a new page). */
  storage?: MemoryStorage;
}

export class MemoryStorage {
  private items = new Map<string, string>();
  get length(): number {
    return this.items.size;
  }
  getItem(k: string): string | null {
    return this.items.get(k) ?? null;
  }
  setItem(k: string, v: string): void {
    this.items.set(k, String(v));
  }
  removeItem(k: string): void {
    this.items.delete(k);
  }
  clear(): void {
    this.items.clear();
  }
  key(i: number): string | null {
    return [...this.items.keys()][i] ?? null;
  }
}

export interface Browser {
  sent: Sent[];
  fetchCalls: number;
  storage: MemoryStorage;
  document: EventTarget & { visibilityState: string; referrer: string };
  setOnline(online: boolean): void;
  /** Events are sent asynchronously: wait until pred() holds (or fail after 2 s). */
  until(pred: () => boolean): Promise<void>;
  /** All events sent so far, in order. */
  events(): TrackedEvent[];
  /** Batches waiting in IndexedDB. */
  stored(): Promise<TrackedEvent[][]>;
}

const define = (name: string, value: unknown): void => {
  Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
};

export function install(opts: BrowserOptions = {}): Browser {
  const win = new EventTarget();
  const doc = Object.assign(new EventTarget(), {
    visibilityState: 'visible',
    referrer: opts.referrer ?? '',
  });
  const replies = [...(opts.fetchReplies ?? [])];
  const storage = opts.storage ?? new MemoryStorage();
  let online = opts.online ?? true;
  const pending: Promise<void>[] = [];
  const browser: Browser = {
    sent: [],
    fetchCalls: 0,
    storage,
    document: doc,
    setOnline(value) {
      online = value;
      if (value) win.dispatchEvent(new Event('online'));
    },
    async until(pred) {
      const deadline = Date.now() + 2000;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error('timed out waiting for the tracker');
        await new Promise((r) => setImmediate(r));
      }
      await Promise.all(pending);
    },
    events: () => browser.sent.flatMap((s) => s.events),
    stored: () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('clickstream', 1);
        open.onupgradeneeded = () => open.result.createObjectStore('q', { autoIncrement: true });
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const req = open.result.transaction('q').objectStore('q').getAll();
          req.onsuccess = () => {
            open.result.close();
            resolve(req.result as TrackedEvent[][]);
          };
          req.onerror = () => reject(req.error);
        };
      }),
  };

  define('addEventListener', win.addEventListener.bind(win));
  define('removeEventListener', win.removeEventListener.bind(win));
  define('dispatchEvent', win.dispatchEvent.bind(win));
  define('document', doc);
  define('localStorage', storage);
  define('location', { href: opts.href ?? 'https://shop.example/product.html?id=sku-lap-001' });
  define('screen', { width: opts.screenWidth ?? 1920 });
  define('indexedDB', new IDBFactory());
  define('navigator', {
    userAgent: opts.userAgent ?? DESKTOP_UA,
    maxTouchPoints: 0,
    get onLine() {
      return online;
    },
    sendBeacon(url: string, data: Blob): boolean {
      if (!(opts.beacon ?? true)) return false;
      const done = data.text().then((text) => {
        browser.sent.push({ via: 'beacon', url, type: data.type, events: JSON.parse(text) });
      });
      pending.push(done);
      return true;
    },
  });
  define('fetch', async (url: string, init: RequestInit): Promise<Response> => {
    browser.fetchCalls++;
    const reply = replies.shift() ?? 202;
    if (reply instanceof Error) throw reply;
    const { status, headers } = typeof reply == 'number' ? { status: reply, headers: {} } : reply;
    if (status >= 200 && status < 300) {
      const type = new Headers(init.headers).get('content-type') ?? '';
      const events = JSON.parse(String(init.body));
      browser.sent.push({ via: 'fetch', url, type, events, credentials: init.credentials, keepalive: init.keepalive });
    }
    return new Response(null, { status, headers });
  });
  return browser;
}
