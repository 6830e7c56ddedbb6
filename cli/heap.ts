import v8 from 'node:v8';

/**
 * How far V8 lets the old generation grow past what the last full collection
 * kept before it collects again, in percent. V8's own choice (up to 4×
 * for a heap that collects fast) leaves the garbage of a connect storm in the
 * heap as long as the process idles: 18,000 idle devices measured 16.5 KiB of
 * RSS each by default, 10.1 KiB at 10 %, 10.9 KiB at 25 %, 12.0 KiB at 50 %
 * (`npm run bench:connections`). A connected device is long-lived state, so the
 * heap is sized to it at a small cost in collections.
 */
export const HEAP_GROWING_PERCENT = 20;

/** Sets the server's heap growth (see HEAP_GROWING_PERCENT); V8 reads it at each full collection, so setting it as the command starts suffices. */
export function sizeHeapForConnections(): void {
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
