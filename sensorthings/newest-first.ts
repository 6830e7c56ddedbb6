import { TestbedError, type Scope } from '../core/index.js';
import type { ReadingStore } from '../store/index.js';
import type { Entity } from './model.js';
import type { QueryOptions } from './odata/options.js';
import type { DatastreamRecord } from './world.js';

/** What a newest-first page is read with: the part of an Observations query it needs. */
interface Query {
  readonly scope: Scope;
  readonly store: ReadingStore;
  readonly datastreams: readonly DatastreamRecord[];
  readonly options: QueryOptions;
  readonly top: number;
  readonly compare: (a: Entity, b: Entity) => number;
}

/** The first window read back from the newest observation; each next one is four times wider. */
const FIRST_WINDOW_MS = 3_600_000;

/** `$orderby=phenomenonTime desc` (or resultTime): the newest observations first. */
export const isTimeDescending = (o: QueryOptions): boolean =>
  o.orderby.length === 1 && o.orderby[0]!.desc && o.orderby[0]!.by.k === 'path' && ['phenomenonTime', 'resultTime'].includes(o.orderby[0]!.by.p.join('/'));

/**
 * Newest first without sorting the whole range: from the newest observation
 * (the store's latest values) back, windows of the time index each four times
 * wider than the last, sorted one at a time, until the page and the one after
 * it are found. Windows are disjoint and read newest first, so the pages joined
 * are in order. A window holding more than the sort cap is read again narrower.
 * Pages by $skip: a later page reads back as far as its end.
 */
export async function newestFirst(
  q: Query,
  range: { from: number; to: number },
  collect: (range: { from: number; to: number }) => Promise<Entity[]>,
): Promise<{ entities: Entity[]; nextSkip?: number | undefined }> {
  const wanted = q.options.skip + q.top + 1;
  const found: Entity[] = [];
  let to = Math.min(range.to, (await newest(q)) + 1);
  let width = FIRST_WINDOW_MS;
  while (found.length < wanted && to > range.from) {
    const from = Math.max(range.from, to - width);
    let chunk: Entity[];
    try {
      chunk = await collect({ from, to });
    } catch (err) {
      if (!(err instanceof TestbedError) || err.code !== 'TESTBED_LIMIT_EXCEEDED' || width <= 1000) throw err;
      width = Math.floor(width / 8);
      continue;
    }
    found.push(...chunk.sort(q.compare));
    to = from;
    width *= 4;
  }
  const more = found.length > q.options.skip + q.top;
  return { entities: found.slice(q.options.skip, q.options.skip + q.top), nextSkip: more ? q.options.skip + q.top : undefined };
}

/** The time of the newest value of any of the Datastreams, from the store's latest values; 0 when there is none. */
async function newest(q: Query): Promise<number> {
  const byPilot = new Map<string, Set<string>>();
  for (const d of q.datastreams) byPilot.set(d.thing.pilot.id, (byPilot.get(d.thing.pilot.id) ?? new Set()).add(d.thing.device.id));
  const measurements = [...new Set(q.datastreams.map((d) => d.measurement.name))];
  let latest = 0;
  for (const [pilotId, devices] of byPilot) {
    for (const row of await q.store.queryLatest(q.scope, { pilotId, deviceIds: [...devices], measurements })) {
      for (const t of Object.values(row.times)) latest = Math.max(latest, t);
    }
  }
  return latest;
}
