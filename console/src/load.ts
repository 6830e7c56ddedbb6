import { useEffect, useState } from 'preact/hooks';
import { ApiError } from './api.js';

export type Loaded<T> = { state: 'loading' } | { state: 'failed'; error: ApiError } | { state: 'ready'; data: T };

const asApiError = (err: unknown): ApiError =>
  err instanceof ApiError ? err : new ApiError(0, 'CONSOLE', err instanceof Error ? err.message : 'Something went wrong in the console');

/**
 * Runs `load` when `deps` change and keeps the latest answer; an answer that
 * arrives after a newer request is dropped. With `refresh`, the previous answer
 * stays on screen while the next loads (a periodic refresh, not new content).
 */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[], refresh = false): Loaded<T> {
  const [result, setResult] = useState<Loaded<T>>({ state: 'loading' });
  useEffect(() => {
    let current = true;
    if (!refresh) setResult({ state: 'loading' });
    load().then(
      (data) => {
        if (current) setResult({ state: 'ready', data });
      },
      (err: unknown) => {
        if (current) setResult({ state: 'failed', error: asApiError(err) });
      },
    );
    return () => {
      current = false;
    };
    // The caller names what the load depends on.
  }, deps);
  return result;
}
