import { TestbedError, type Scope } from '../core/index.js';
import type { ReadingStore, Selection, SeriesRow } from '../store/index.js';
import type { StaLimits } from './limits.js';
import { observationOf, qualityOf } from './mapping.js';
import type { Entity } from './model.js';
import { passes, type Resolve } from './odata/evaluate.js';
import { badQuery } from './odata/errors.js';
import type { QueryOptions } from './odata/options.js';
import { timeRangeOf } from './time-range.js';
import type { DatastreamRecord } from './world.js';

/** Where a page of Observations continues: after this observation, in (time, device, measurement) order. */
interface Position {
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

const after = (a: Position, b: Position): boolean => a.t > b.t || (a.t === b.t && (a.d > b.d || (a.d === b.d && a.m > b.m)));
const encode = (p: Position): string => Buffer.from(JSON.stringify(p)).toString('base64url');
function decode(token: string): Position {
  try {
    const p = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Position;
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

/** Reads one selection in time order from `from`, calling `take` per observation until it returns false. */
type Group = ReturnType<typeof selections>[number];

/**
 * Reads one group in (time, device) order from `from`, handing each observation
 * to `take` until it returns false. Stops after maxScanRows readings, saying where.
 */
async function scan(
  q: ObservationQuery,
  sel: Group,
  from: number,
  to: number,
  take: (o: Entity, row: SeriesRow, m: string) => boolean,
): Promise<{ done: boolean; stoppedAt?: SeriesRow }> {
  let position: { time: number; deviceId: string } | undefined;
  let scanned = 0;
  for (;;) {
    const rows = await q.store.queryRaw(q.scope, {
      select: sel.select,
      from,
      to,
      after: position,
      measurements: sel.measurements,
      limit: q.limits.batchRows,
      deadline: q.deadline,
    });
    for (const row of rows) {
      scanned++;
      for (const [o, m] of valuesOf(row, sel.wanted)) if (!take(o, row, m)) return { done: false };
    }
    const last = rows.at(-1);
    if (!last || rows.length < q.limits.batchRows) return { done: true };
    position = { time: last.time, deviceId: last.deviceId };
    if (scanned >= q.limits.maxScanRows) return { done: false, stoppedAt: last };
  }
}

const isTimeAscending = (o: QueryOptions): boolean =>
  o.orderby.length === 0 ||
  (o.orderby.length === 1 && !o.orderby[0]!.desc && o.orderby[0]!.by.k === 'path' && ['phenomenonTime', 'resultTime'].includes(o.orderby[0]!.by.p.join('/')));

/**
 * A page of Observations. In time order (the default, and $orderby=phenomenonTime)
 * one device's or one pilot's readings are read a batch at a time from the
 * filter's time range and the page ends with a $skiptoken; any other order
 * reads the range (at most maxSortObservations), sorts it and pages by $skip.
 */
export async function observationPage(q: ObservationQuery): Promise<ObservationPage> {
  const range = timeRangeOf(q.options.filter);
  const groups = selections(q.datastreams);
  const count = q.options.count ? await countAll(q, groups, range) : undefined;
  if (groups.length === 1 && isTimeAscending(q.options)) return { ...(await streamed(q, groups[0] as Group, range)), count };
  const all = await collect(q, groups, range);
  all.sort(q.compare);
  const page = all.slice(q.options.skip, q.options.skip + q.top);
  const more = all.length > q.options.skip + q.top;
  return { entities: page, nextSkip: more ? q.options.skip + q.top : undefined, count };
}

async function streamed(q: ObservationQuery, group: Group, range: { from: number; to: number }): Promise<ObservationPage> {
  const start = q.options.skiptoken === undefined ? undefined : decode(q.options.skiptoken);
  let toSkip = start ? 0 : q.options.skip;
  const out: Entity[] = [];
  const positions: Position[] = [];
  const result = await scan(q, group, Math.max(range.from, start?.t ?? 0), range.to, (o, row, m) => {
    const here = { t: row.time, d: row.deviceId, m };
    if (start && !after(here, start)) return true;
    if (!passes(q.options.filter, q.resolver(o))) return true;
    if (toSkip > 0) return (toSkip--, true);
    out.push(o);
    positions.push(here);
    return out.length <= q.top;
  });
  if (out.length > q.top) return { entities: out.slice(0, q.top), skiptoken: encode(positions[q.top - 1] as Position) };
  // A scan stopped at its limit continues after the last reading it read: the page may be short, never wrong.
  if (result.stoppedAt) return { entities: out, skiptoken: encode({ t: result.stoppedAt.time, d: result.stoppedAt.deviceId, m: '\uffff' }) };
  return { entities: out };
}

/** Every matching observation of the groups in the range, at most maxSortObservations (400 beyond). */
async function collect(q: ObservationQuery, groups: readonly Group[], range: { from: number; to: number }): Promise<Entity[]> {
  const all: Entity[] = [];
  for (const group of groups) {
    const result = await scan(q, group, range.from, range.to, (o) => {
      if (passes(q.options.filter, q.resolver(o))) all.push(o);
      return all.length <= q.limits.maxSortObservations;
    });
    if (!result.done) throw tooMany(q.limits);
  }
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
