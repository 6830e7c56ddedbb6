import { useEffect, useRef } from 'preact/hooks';
import { stream } from './api.js';
import type { DeviceReading } from './types.js';

const RETRY_MS = 5000;

/**
 * Follows a pilot's live readings (`GET /v1/pilots/{id}/live`) while the page
 * is open, calling `onReading` for each; reconnects after a pause when the
 * stream ends (a restart of the gateway), and stops when the page goes.
 */
export function useLiveReadings(pilotId: string, onReading: (reading: DeviceReading) => void): void {
  const handler = useRef(onReading);
  handler.current = onReading;
  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const follow = () => {
      stream(
        `/v1/pilots/${encodeURIComponent(pilotId)}/live`,
        (event, data) => {
          if (event !== 'message') return;
          try {
            handler.current(JSON.parse(data) as DeviceReading);
          } catch {
            // Not a reading: nothing to show.
          }
        },
        abort.signal,
      ).then(
        () => {
          if (!abort.signal.aborted) timer = setTimeout(follow, RETRY_MS);
        },
        () => {
          // Live updates are a convenience: a refused or broken stream leaves the page as loaded, and is tried again later.
          if (!abort.signal.aborted) timer = setTimeout(follow, RETRY_MS * 6);
        },
      );
    };
    follow();
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, [pilotId]);
}
