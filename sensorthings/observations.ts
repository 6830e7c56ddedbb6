import { TestbedError, type Scope } from '../core/index.js';
import type { ReadingStore, Selection, SeriesRow } from '../store/index.js';
import type { StaLimits } from './limits.js';
import { observationOf, qualityOf } from './mapping.js';
import type { Entity } from './model.js';
import { passes, type Resolve } from './odata/evaluate.js';
import { badQuery } from './odata/errors.js';
import type { QueryOptions } from './odata/options.js';
import { isTimeDescending, newestFirst } from './newest-first.js';
import { timeRangeOf } from './time-range.js';
import type { DatastreamRecord } from './world.js';

/** Where a page of Observations continues: after this observation, in (time, device, measurement) order. */
interface Place {
  readonly t: number;
  readonly d: string;
  readonly m: string;
}

export interface ObservationPage {
  readonly entities: Entity[];
  /** The skiptoken of the next page, when there is one. */
  readonly skiptoken?: string | undefined;
  /** The $skip of the next page (sorted answers page by $skip). */
  readonly nextSkip?: number | undefined;
  readonly count?: number | undefined;
}

export interface ObservationQuery {
  readonly scope: Scope;
  readonly store: ReadingStore;
  readonly limits: StaLimits;
  readonly deadline: number;
  /** The Datastreams whose Observations are asked for: one, a device's, or every visible one. */
  readonly datastreams: readonly DatastreamRecord[];
  readonly options: QueryOptions;
  readonly top: number;
  readonly resolver: (e: Entity) => Resolve;
  readonly compare: (a: Entity, b: Entity) => number;
}

const after = (a: Place, b: Place): boolean => a.t > b.t || (a.t === b.t && (a.d > b.d || (a.d === b.d && a.m > b.m)));
const encode = (p: Place): string => Buffer.from(JSON.stringify(p)).toString('base64url');
function decode(token: string): Place {
  try {
    const p = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Place;
    if (typeof p.t === 'number' && typeof p.d === 'string' && typeof p.m === 'string') return p;
  } catch {
    // answered below
  }
  throw badQuery('$skiptoken is not one this server issued; follow @iot.nextLink unchanged');
}

/**
 * The store queries that read these Datastreams: one per device when they are
 * a single device's, else one per pilot; each narrowed to their measurements
 * and to the time range of the filter (the store's time index, never a scan).
 */
function selections(datastreams: readonly DatastreamRecord[]): { select: Selection; measurements: string[]; wanted: Set<string> }[] {
  const devices = new Set(datastreams.map((d) => d.thing.device.id));
  const groups = new Map<string, { select: Selection; measurements: Set<string>; wanted: Set<string> }>();
  for (const d of datastreams) {
    const key = devices.size === 1 ? d.thing.device.id : d.thing.pilot.id;
    const select: Selection = devices.size === 1 ? { kind: 'device', deviceId: key } : { kind: 'pilot', pilotId: key };
    const g = groups.get(key) ?? { select, measurements: new Set<string>(), wanted: new Set<string>() };
    g.measurements.add(d.measurement.name);
    g.wanted.add(`${d.thing.device.id}~${d.measurement.name}`);
    groups.set(key, g);
  }
  return [...groups.values()].map((g) => ({ select: g.select, measurements: [...g.measurements].sort(), wanted: g.wanted }));
}

/** Each value of a reading that belongs to a wanted Datastream, in measurement order. */
function* valuesOf(row: SeriesRow, wanted: Set<string>): Generator<[Entity, string]> {
  for (const m of Object.keys(row.values).sort()) {
    if (!wanted.has(`${row.deviceId}~${m}`)) continue;
    yield [observationOf(row.deviceId, m, row.time, row.values[m] as number, qualityOf(row, m)), m];
  }
}

type Group = ReturnType<typeof selections>[number];

/**
 * The readings of the groups merged in (time, deviceId) order, from `from`:
 * each group is read a batch at a time from its own position in the store's
 * time index, and the earliest head goes next. Device ids are unique across
 * pilots, so the merge is the one order every page of every group is in.
 */
async function* merged(q: ObservationQuery, groups: readonly Group[], from: number, to: number): AsyncGenerator<{ row: SeriesRow; group: Group }> {
  // A page needs about top readings in all: each group's first batch is its share of them, later ones full size.
  const first = Math.max(16, Math.min(q.limits.batchRows, Math.ceil((q.top + 1) / groups.length) + 1));
  const heads = groups.map((group) => ({ group, rows: [] as SeriesRow[], at: 0, done: false, limit: first }));
  const fill = async (h: (typeof heads)[number]) => {
    if (h.done || h.at < h.rows.length) return;
    const p = h.rows.at(-1);
    h.rows = await q.store.queryRaw(q.scope, {
      select: h.group.select,
      from,
      to,
      after: p && { time: p.time, deviceId: p.deviceId },
      measurements: h.group.measurements,
      limit: h.limit,
      deadline: q.deadline,
    });
    h.at = 0;
    h.done = h.rows.length < h.limit;
    h.limit = q.limits.batchRows;
  };
  for (;;) {
    await Promise.all(heads.map(fill));
    let next: (typeof heads)[number] | undefined;
    for (const h of heads) {
      const row = h.rows[h.at];
      const best = next?.rows[next.at];
      if (row && (!best || row.time < best.time || (row.time === best.time && row.deviceId < best.deviceId))) next = h;
    }
    if (!next) return;
    const row = next.rows[next.at++] as SeriesRow;
    yield { row, group: next.group };
  }
}

/**
 * Hands each observation of the groups, in (time, device, measurement) order
 * from `from`, to `take` until it returns false. Stops after maxScanRows
 * readings, saying at which.
 */
async function scan(
  q: ObservationQuery,
  groups: readonly Group[],
  from: number,
  to: number,
  take: (o: Entity, row: SeriesRow, m: string) => boolean,
): Promise<{ done: boolean; stoppedAt?: SeriesRow }> {
  let scanned = 0;
  for await (const { row, group } of merged(q, groups, from, to)) {
    for (const [o, m] of valuesOf(row, group.wanted)) if (!take(o, row, m)) return { done: false };
    if (++scanned >= q.limits.maxScanRows) return { done: false, stoppedAt: row };
  }
  return { done: true };
}

const isTimeAscending = (o: QueryOptions): boolean =>
  o.orderby.length === 0 ||
  (o.orderby.length === 1 && !o.orderby[0]!.desc && o.orderby[0]!.by.k === 'path' && ['phenomenonTime', 'resultTime'].includes(o.orderby[0]!.by.p.join('/')));

/**
 * A page of Observations. In time order (the default, and $orderby=phenomenonTime)
 * the readings of each device or pilot are read a batch at a time from the
 * filter's time range, merged, and the page ends with a $skiptoken; newest first
 * reads windows back from the newest observation (newest-first.ts); any other order
 * reads the range (at most maxSortObservations), sorts it and pages by $skip.
 */
export async function observationPage(q: ObservationQuery): Promise<ObservationPage> {
  const range = timeRangeOf(q.options.filter);
  const groups = selections(q.datastreams);
  const count = q.options.count ? await countAll(q, groups, range) : undefined;
  if (isTimeAscending(q.options)) return { ...(await streamed(q, groups, range)), count };
  if (isTimeDescending(q.options)) return { ...(await newestFirst(q, range, (r) => collect(q, groups, r))), count };
  const all = await collect(q, groups, range);
  all.sort(q.compare);
  const page = all.slice(q.options.skip, q.options.skip + q.top);
  const more = all.length > q.options.skip + q.top;
  return { entities: page, nextSkip: more ? q.options.skip + q.top : undefined, count };
}

async function streamed(q: ObservationQuery, groups: readonly Group[], range: { from: number; to: number }): Promise<ObservationPage> {
  const start = q.options.skiptoken === undefined ? undefined : decode(q.options.skiptoken);
  let toSkip = start ? 0 : q.options.skip;
  const out: Entity[] = [];
  const positions: Place[] = [];
  const result = await scan(q, groups, Math.max(range.from, start?.t ?? 0), range.to, (o, row, m) => {
    const here = { t: row.time, d: row.deviceId, m };
    if (start && !after(here, start)) return true;
    if (!passes(q.options.filter, q.resolver(o))) return true;
    if (toSkip > 0) return (toSkip--, true);
    out.push(o);
    positions.push(here);
    return out.length <= q.top;
  });
  if (out.length > q.top) return { entities: out.slice(0, q.top), skiptoken: encode(positions[q.top - 1] as Place) };
  // A scan stopped at its limit continues after the last reading it read: the page may be short, never wrong.
  if (result.stoppedAt) return { entities: out, skiptoken: encode({ t: result.stoppedAt.time, d: result.stoppedAt.deviceId, m: '\uffff' }) };
  return { entities: out };
}

/** Every matching observation of the groups in the range, at most maxSortObservations (400 beyond). */
async function collect(q: ObservationQuery, groups: readonly Group[], range: { from: number; to: number }): Promise<Entity[]> {
  const all: Entity[] = [];
  const result = await scan(q, groups, range.from, range.to, (o) => {
    if (passes(q.options.filter, q.resolver(o))) all.push(o);
    return all.length <= q.limits.maxSortObservations;
  });
  if (!result.done) throw tooMany(q.limits);
  return all;
}

async function countAll(q: ObservationQuery, groups: readonly Group[], range: { from: number; to: number }): Promise<number> {
  return (await collect(q, groups, range)).length;
}

const tooMany = (limits: StaLimits): TestbedError =>
  new TestbedError(
    'TESTBED_LIMIT_EXCEEDED',
    `More than ${limits.maxSortObservations} observations match: ask for a shorter phenomenonTime range in $filter, or order by phenomenonTime ascending (the default), which pages without sorting, and leave out $count`,
    { limit: 'maxSortObservations', value: limits.maxSortObservations },
  );
