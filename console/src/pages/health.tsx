import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { Show } from '../components/status.js';
import { useLoad } from '../load.js';
import type { Health } from '../types.js';

const REFRESH_MS = 10_000;

/** Nested counters as rows of "section.field: value". */
function rows(value: unknown, prefix = ''): [string, string][] {
  if (value === null || typeof value !== 'object') return [[prefix, String(value)]];
  return Object.entries(value).flatMap(([k, v]) => rows(v, prefix ? `${prefix}.${k}` : k));
}

/** `GET /v1/health`, refreshed every few seconds: the gateway's connections, ingest counters, the queue and the store. */
export function HealthPanel() {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTick((n) => n + 1), REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  const loaded = useLoad<Health>(() => api.health(), [tick], true);
  return (
    <section aria-labelledby="health-title">
      <h2 id="health-title">Pipeline health</h2>
      <Show loaded={loaded}>
        {(health) => {
          const { status, ...rest } = health;
          return (
            <>
              <p>
                Status: <span class={`badge ${status}`}>{status}</span>
              </p>
              <dl class="facts">
                {rows(rest).map(([name, value]) => (
                  <div key={name}>
                    <dt>{name}</dt>
                    <dd>{value}</dd>
                  </div>
                ))}
              </dl>
            </>
          );
        }}
      </Show>
    </section>
  );
}
