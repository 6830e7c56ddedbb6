import type { Scope } from '../core/index.js';
import type { ReadingStore } from '../store/index.js';
import { period } from './mapping.js';
import { ALL_TIME } from './time-range.js';
import type { DatastreamRecord } from './world.js';

/**
 * A Datastream's phenomenonTime (OGC 18-088 8.2.4): the period from its first
 * to its newest observation, null while it has none. Per device: the newest
 * times from the store's latest query, the first reading from one indexed
 * raw query (limit 1), and one more per measurement that reading lacks.
 * Computed only for the Datastreams an answer shows, once per device and request.
 */
export class Periods {
  readonly #byDevice = new Map<string, Promise<Map<string, string | null>>>();

  constructor(
    private readonly store: ReadingStore,
    private readonly scope: Scope,
    private readonly deadline: number,
  ) {}

  async of(ds: DatastreamRecord): Promise<string | null> {
    const id = ds.thing.device.id;
    let pending = this.#byDevice.get(id);
    if (!pending) this.#byDevice.set(id, (pending = this.#load(ds)));
    return (await pending).get(ds.measurement.name) ?? null;
  }

  async #load(ds: DatastreamRecord): Promise<Map<string, string | null>> {
    const { device, profile } = ds.thing;
    const latest = await this.store.queryLatest(this.scope, { pilotId: device.pilotId, deviceIds: [device.id] });
    const newest = latest[0]?.times ?? {};
    const read = (measurements?: string[]) =>
      this.store.queryRaw(this.scope, { select: { kind: 'device', deviceId: device.id }, ...ALL_TIME, measurements, limit: 1, deadline: this.deadline });
    const first = new Map<string, number>();
    const [row] = await read();
    for (const m of Object.keys(row?.values ?? {})) first.set(m, (row as { time: number }).time);
    const out = new Map<string, string | null>();
    for (const m of profile?.profile.measurements ?? []) {
      const end = newest[m.name];
      if (end === undefined) continue;
      if (!first.has(m.name)) {
        const [own] = await read([m.name]);
        if (own) first.set(m.name, own.time);
      }
      out.set(m.name, period(first.get(m.name) ?? end, end));
    }
    return out;
  }
}
