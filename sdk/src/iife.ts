// The <script src="tracker.min.js"> build: starts a tracker as window.clickstream.
// Configure with window.clickstreamConfig = {...} before the script, or data-endpoint on the tag.
import { type Config, createTracker, type Tracker } from './tracker';

declare global {
  interface Window {
    clickstream: Tracker;
    clickstreamConfig?: Config;
  }
}

const script = document.currentScript as HTMLScriptElement | null;
window.clickstream = createTracker({ endpoint: script?.dataset.endpoint, ...window.clickstreamConfig });
