import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Scope } from '../core/model.js';
import { QueryTimeExceeded, type AggregateFunction, type Position, type Reading, type ReadingStore, type Selection, type SeriesRow } from '../store/types.js';

const ALL: Scope = { kind: 'all' };
const T0 = Date.UTC(2025, 0, 1);
const MIN = 60_000;
const HOUR = 3_600_000;
const FAR = Date.UTC(2100, 0, 1);
const later = () => Date.now() + 30_000;

/** A pilot of its own per test, in testbed `tampere` of company `co_q` unless told otherwise. */
function pilotOf(label: string, tags: Partial<Reading> = {}) {
  const pilotId = `${label}-${randomUUID().slice(0, 8)}`;
  const r = (deviceId: string, time: number, values: Record<string, number>): Reading => ({
    deviceId: `${pilotId}.${deviceId}`,
    pilotId,
    companyId: 'co_q',
    testbedId: 'tampere',
    profile: 'weather',
    time,
    values,
    ...tags,
  });
  return { pilotId, dev: (d: string) => `${pilotId}.${d}`, r };
}

/** Reads every page of a raw query, `pageSize` rows at a time, following the last row as the cursor. */
async function allPages(
  store: ReadingStore,
  scope: Scope,
  select: Selection,
  pageSize: number,
  extra: { from?: number; to?: number; measurements?: string[] } = {},
) {
  const rows: SeriesRow[] = [];
  let after: Position | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await store.queryRaw(scope, {
      select,
      from: extra.from ?? 0,
      to: extra.to ?? FAR,
      after,
      limit: pageSize,
      measurements: extra.measurements,
      deadline: later(),
    });
    rows.push(...page);
    const last = page.at(-1);
    if (page.length < pageSize || !last) return rows;
    after = { time: last.time, deviceId: last.deviceId };
  }
  throw new Error('paging did not end');
}

/** Aggregates computed here, independently of any store, from the readings written. */
function expectedAggregates(readings: readonly Reading[], fn: AggregateFunction, every: number, from: number, to: number, measurements?: string[]) {
  const groups = new Map<string, { deviceId: string; time: number; series: Map<string, number[]> }>();
  for (const r of [...readings].sort((a, b) => a.time - b.time)) {
    if (r.time < from || r.time >= to) continue;
    const time = Math.floor(r.time / every) * every;
    const key = `${time}|${r.deviceId}`;
    const g = groups.get(key) ?? { deviceId: r.deviceId, time, series: new Map<string, number[]>() };
    groups.set(key, g);
    for (const [m, v] of Object.entries(r.values)) if (!measurements || measurements.includes(m)) g.series.set(m, [...(g.series.get(m) ?? []), v]);
  }
  const apply = (vs: number[]): number => {
    const sum = vs.reduce((a, b) => a + b, 0);
    return { mean: sum / vs.length, sum, count: vs.length, min: Math.min(...vs), max: Math.max(...vs), first: vs[0]!, last: vs.at(-1)! }[fn];
  };
  return [...groups.values()]
    .filter((g) => g.series.size > 0)
    .sort((a, b) => a.time - b.time || (a.deviceId < b.deviceId ? -1 : 1))
    .map((g) => ({ deviceId: g.deviceId, time: g.time, values: Object.fromEntries([...g.series].map(([m, vs]) => [m, apply(vs)])) }));
}

/** The query side of the ReadingStore contract: raw pages, aggregates, latest, each under every kind of scope. */
export function describeQueryContract(getStore: () => ReadingStore): void {
  let store: ReadingStore;
  beforeAll(() => {
    store = getStore();
  });

  describe('raw readings of a pilot, paged', () => {
    it('returns every device of the pilot in (time, device) order, ties included, and nothing of another pilot', async () => {
      const p = pilotOf('raw');
      const other = pilotOf('raw-other');
      const written = [
        p.r('b', T0 + 2000, { v: 1 }),
        p.r('a', T0 + 2000, { v: 2 }),
        p.r('c', T0 + 2000, { v: 3 }),
        p.r('a', T0, { v: 4 }),
        p.r('c', T0 + 1000, { v: 5 }),
        p.r('b', T0 + 3000, { v: 6 }),
        p.r('a', T0 + 3000, { v: 7 }),
        other.r('a', T0 + 1000, { v: 99 }),
      ];
      await store.write(written);
      const select: Selection = { kind: 'pilot', pilotId: p.pilotId };
      const expected = [
        [T0, 'a', 4],
        [T0 + 1000, 'c', 5],
        [T0 + 2000, 'a', 2],
        [T0 + 2000, 'b', 1],
        [T0 + 2000, 'c', 3],
        [T0 + 3000, 'a', 7],
        [T0 + 3000, 'b', 6],
      ].map(([time, d, v]) => ({ deviceId: p.dev(d as string), time, values: { v } }));
      expect(await store.queryRaw(ALL, { select, from: 0, to: FAR, limit: 100, deadline: later() })).toEqual(expected);
      // Every page size cuts the ties somewhere else; the pages always join up exactly.
      for (const size of [1, 2, 3, 4, 6, 7]) expect(await allPages(store, ALL, select, size), `page size ${size}`).toEqual(expected);
      expect(await allPages(store, ALL, select, 2, { from: T0 + 1000, to: T0 + 3000 })).toEqual(expected.slice(1, 5));
    });

    it('continues after a position: later rows only, whatever was written before it meanwhile', async () => {
      const p = pilotOf('after');
      await store.write([p.r('a', T0, { v: 1 }), p.r('b', T0, { v: 2 }), p.r('a', T0 + 10, { v: 3 })]);
      const select: Selection = { kind: 'pilot', pilotId: p.pilotId };
      const page = await store.queryRaw(ALL, { select, from: 0, to: FAR, after: { time: T0, deviceId: p.dev('a') }, limit: 10, deadline: later() });
      expect(page.map((r) => r.values.v)).toEqual([2, 3]);
      await store.write([p.r('0', T0 - 5, { v: 0 })]);
      expect(await store.queryRaw(ALL, { select, from: 0, to: FAR, after: { time: T0, deviceId: p.dev('b') }, limit: 10, deadline: later() })).toEqual([
        { deviceId: p.dev('a'), time: T0 + 10, values: { v: 3 } },
      ]);
    });

    it('keeps only chosen measurements and leaves out readings with none of them', async () => {
      const p = pilotOf('measurements');
      await store.write([p.r('a', T0, { t: 1, h: 10 }), p.r('a', T0 + 1, { h: 11 }), p.r('b', T0 + 2, { t: 3, p: 5 }), p.r('a', T0 + 3, { p: 6 })]);
      const select: Selection = { kind: 'pilot', pilotId: p.pilotId };
      const rows = await allPages(store, ALL, select, 1, { measurements: ['t', 'p'] });
      expect(rows).toEqual([
        { deviceId: p.dev('a'), time: T0, values: { t: 1 } },
        { deviceId: p.dev('b'), time: T0 + 2, values: { t: 3, p: 5 } },
        { deviceId: p.dev('a'), time: T0 + 3, values: { p: 6 } },
      ]);
    });

    it('keeps the quality flag of the chosen measurements only', async () => {
      const p = pilotOf('flags');
      await store.write([
        { ...p.r('a', T0, { t: 1, h: 10 }), suspect: ['t', 'h'] },
        { ...p.r('a', T0 + 1, { t: 2, h: 11 }), suspect: ['h'] },
        p.r('a', T0 + 2, { t: 3 }),
      ]);
      const select: Selection = { kind: 'pilot', pilotId: p.pilotId };
      const rows = await store.queryRaw(ALL, { select, from: 0, to: FAR, limit: 10, measurements: ['t'], deadline: later() });
      expect(rows).toEqual([
        { deviceId: p.dev('a'), time: T0, values: { t: 1 }, suspect: ['t'] },
        { deviceId: p.dev('a'), time: T0 + 1, values: { t: 2 } },
        { deviceId: p.dev('a'), time: T0 + 2, values: { t: 3 } },
      ]);
      expect((await store.queryRaw(ALL, { select, from: 0, to: FAR, limit: 1, deadline: later() }))[0]?.suspect).toEqual(['t', 'h']);
      expect(await store.queryLatest(ALL, { pilotId: p.pilotId, deviceIds: [p.dev('a')], measurements: ['h'] })).toEqual([
        { deviceId: p.dev('a'), time: T0 + 1, values: { h: 11 }, times: { h: T0 + 1 }, suspect: ['h'] },
      ]);
      await store.write([{ ...p.r('a', T0 + 3, { t: 4, h: 12 }), suspect: ['h'] }]);
      expect(await store.queryLatest(ALL, { pilotId: p.pilotId, deviceIds: [p.dev('a')], measurements: ['h'] })).toEqual([
        { deviceId: p.dev('a'), time: T0 + 3, values: { h: 12 }, times: { h: T0 + 3 }, suspect: ['h'] },
      ]);
    });

    it('keeps the stuck flag of the chosen measurements and the gap flag of the reading; aggregates count no flag', async () => {
      const p = pilotOf('stuck-gap');
      await store.write([
        { ...p.r('a', T0, { t: 1, h: 10 }), gap: true, stuck: ['h'] },
        { ...p.r('a', T0 + 1, { t: 1, h: 10 }), stuck: ['t', 'h'], suspect: ['t'] },
        p.r('a', T0 + 2, { t: 3 }),
      ]);
      const select: Selection = { kind: 'pilot', pilotId: p.pilotId };
      expect(await store.queryRaw(ALL, { select, from: 0, to: FAR, limit: 10, measurements: ['t'], deadline: later() })).toStrictEqual([
        { deviceId: p.dev('a'), time: T0, values: { t: 1 }, gap: true },
        { deviceId: p.dev('a'), time: T0 + 1, values: { t: 1 }, suspect: ['t'], stuck: ['t'] },
        { deviceId: p.dev('a'), time: T0 + 2, values: { t: 3 } },
      ]);
      for (const fn of ['count', 'max', 'first', 'mean'] as const) {
        const rows = await store.queryAggregate(ALL, { select, from: T0 - (T0 % HOUR), to: T0 - (T0 % HOUR) + HOUR, every: HOUR, fn, deadline: later() });
        expect(Object.keys(rows[0]?.values ?? {}).sort(), fn).toEqual(['h', 't']);
        expect(rows[0], fn).not.toHaveProperty('stuck');
        expect(rows[0], fn).not.toHaveProperty('gap');
      }
    });

    it('reads one device through the same query', async () => {
      const p = pilotOf('one');
      await store.write([p.r('a', T0, { v: 1 }), p.r('b', T0, { v: 2 }), p.r('a', T0 + 1, { v: 3 })]);
      const rows = await allPages(store, ALL, { kind: 'device', deviceId: p.dev('a') }, 1);
      expect(rows).toEqual([
        { deviceId: p.dev('a'), time: T0, values: { v: 1 } },
        { deviceId: p.dev('a'), time: T0 + 1, values: { v: 3 } },
      ]);
    });
  });

  describe('every kind of scope, on every query', () => {
    const scopes = (pilotId: string): [string, Scope, boolean][] => [
      ['all', ALL, true],
      ['its company', { kind: 'company', companyId: 'co_s' }, true],
      ['another company', { kind: 'company', companyId: 'co_other' }, false],
      ['operator of its testbed', { kind: 'testbeds', testbedIds: ['oulu', 'turku'] }, true],
      ['operator of other testbeds', { kind: 'testbeds', testbedIds: ['helsinki', 'espoo'] }, false],
      ['operator of no testbed', { kind: 'testbeds', testbedIds: [] }, false],
      ['researcher it is shared with', { kind: 'research', pilotIds: ['some-other-pilot', pilotId] }, true],
      ['researcher it is not shared with', { kind: 'research', pilotIds: ['some-other-pilot'] }, false],
      ['researcher with nothing shared', { kind: 'research', pilotIds: [] }, false],
    ];
    const p = pilotOf('scoped', { companyId: 'co_s', testbedId: 'turku' });
    beforeAll(async () => {
      await store.write([p.r('a', T0, { v: 1 }), p.r('b', T0 + MIN, { v: 2 })]);
    });

    it.each(scopes(p.pilotId).map(([name, scope, sees]) => [`${name}: ${sees ? 'sees the pilot' : 'sees nothing'}`, scope, sees] as const))(
      '%s',
      async (_, scope, sees) => {
        const pilot: Selection = { kind: 'pilot', pilotId: p.pilotId };
        const device: Selection = { kind: 'device', deviceId: p.dev('a') };
        const base = { from: 0, to: FAR, limit: 10, deadline: later() };
        const count = (rows: unknown[]) => rows.length;
        expect(count(await store.queryRaw(scope, { ...base, select: pilot }))).toBe(sees ? 2 : 0);
        expect(count(await store.queryRaw(scope, { ...base, select: device }))).toBe(sees ? 1 : 0);
        const agg = { from: 0, to: T0 + HOUR, every: HOUR, fn: 'count' as const, deadline: later() };
        expect(count(await store.queryAggregate(scope, { ...agg, select: pilot }))).toBe(sees ? 2 : 0);
        expect(count(await store.queryAggregate(scope, { ...agg, select: device }))).toBe(sees ? 1 : 0);
        expect(count(await store.queryLatest(scope, { pilotId: p.pilotId, deviceIds: [p.dev('a'), p.dev('b')] }))).toBe(sees ? 2 : 0);
      },
    );
  });

  describe('windowed aggregates', () => {
    const p = pilotOf('agg');
    // Two devices over three hours, sparse and out of order, values exact in binary so sums are exact.
    const written: Reading[] = [];
    for (let i = 0; i < 40; i++) {
      const t = T0 + i * 7 * MIN + (i % 3) * 1000;
      written.push(p.r(i % 2 ? 'a' : 'b', t, i % 5 === 0 ? { temperature: -5 + i * 0.25 } : { temperature: -5 + i * 0.25, humidity: 40 + (i % 7) * 1.5 }));
    }
    beforeAll(async () => {
      await store.write([...written].reverse());
    });

    it.each(['mean', 'min', 'max', 'sum', 'count', 'first', 'last'] as const)('%s per device and window equals what was published', async (fn) => {
      for (const every of [15 * MIN, HOUR]) {
        const q = { select: { kind: 'pilot', pilotId: p.pilotId } as const, from: T0, to: T0 + 5 * HOUR, every, fn, deadline: later() };
        expect(await store.queryAggregate(ALL, q), `every ${every}`).toEqual(expectedAggregates(written, fn, every, T0, T0 + 5 * HOUR));
      }
    });

    it('aggregates only the chosen measurements, one device, a part of the range', async () => {
      const q = {
        select: { kind: 'device', deviceId: p.dev('a') } as const,
        from: T0 + HOUR,
        to: T0 + 2 * HOUR,
        every: 15 * MIN,
        fn: 'mean' as const,
        measurements: ['humidity'],
        deadline: later(),
      };
      const expected = expectedAggregates(
        written.filter((r) => r.deviceId === p.dev('a')),
        'mean',
        15 * MIN,
        T0 + HOUR,
        T0 + 2 * HOUR,
        ['humidity'],
      );
      expect(expected.length).toBeGreaterThan(1);
      expect(await store.queryAggregate(ALL, q)).toEqual(expected);
    });

    it('gives each window its start as its time, aligned to UTC days, and leaves out empty windows', async () => {
      const d = pilotOf('days');
      const day = 24 * HOUR;
      await store.write([
        d.r('a', T0 + 23 * HOUR, { v: 1 }),
        d.r('a', T0 + day + 1, { v: 3 }),
        d.r('a', T0 + day + 2 * HOUR, { v: 5 }),
        d.r('a', T0 + 3 * day, { v: 7 }),
      ]);
      const rows = await store.queryAggregate(ALL, {
        select: { kind: 'pilot', pilotId: d.pilotId },
        from: T0,
        to: T0 + 4 * day,
        every: day,
        fn: 'mean',
        deadline: later(),
      });
      expect(rows).toEqual([
        { deviceId: d.dev('a'), time: T0, values: { v: 1 } },
        { deviceId: d.dev('a'), time: T0 + day, values: { v: 4 } },
        { deviceId: d.dev('a'), time: T0 + 3 * day, values: { v: 7 } },
      ]);
    });

    it('stops a query past its deadline with QueryTimeExceeded', async () => {
      const big = pilotOf('deadline');
      await store.write(Array.from({ length: 5000 }, (_, i) => big.r('a', T0 + i * 1000, { v: i })));
      const q = {
        select: { kind: 'pilot', pilotId: big.pilotId } as const,
        from: T0,
        to: T0 + 2 * HOUR,
        every: MIN,
        fn: 'mean' as const,
        deadline: Date.now() - 1,
      };
      await expect(store.queryAggregate(ALL, q)).rejects.toBeInstanceOf(QueryTimeExceeded);
      await expect(store.queryRaw(ALL, { ...q, limit: 5000, measurements: ['nothing'] })).rejects.toBeInstanceOf(QueryTimeExceeded);
    });
  });

  describe('latest value of each measurement of each device', () => {
    it('is the newest value of each measurement, each with its own time, of each device asked for, in device order', async () => {
      const p = pilotOf('latest');
      await store.write([
        p.r('b', T0 + 5, { v: 1 }),
        p.r('b', T0 + 9, { v: 2, w: 1 }),
        p.r('a', T0 + 20, { w: 3 }),
        p.r('a', T0 + 1, { v: 4 }),
        p.r('c', T0, { v: 5 }),
      ]);
      // a's newest reading carries only w: its v is the one from before, with that reading's time.
      expect(await store.queryLatest(ALL, { pilotId: p.pilotId, deviceIds: [p.dev('b'), p.dev('a'), p.dev('none')] })).toEqual([
        { deviceId: p.dev('a'), time: T0 + 20, values: { v: 4, w: 3 }, times: { v: T0 + 1, w: T0 + 20 } },
        { deviceId: p.dev('b'), time: T0 + 9, values: { v: 2, w: 1 }, times: { v: T0 + 9, w: T0 + 9 } },
      ]);
      expect(await store.queryLatest(ALL, { pilotId: p.pilotId, deviceIds: [p.dev('a'), p.dev('b')], measurements: ['v'] })).toEqual([
        { deviceId: p.dev('a'), time: T0 + 1, values: { v: 4 }, times: { v: T0 + 1 } },
        { deviceId: p.dev('b'), time: T0 + 9, values: { v: 2 }, times: { v: T0 + 9 } },
      ]);
      expect(await store.queryLatest(ALL, { pilotId: 'another-pilot', deviceIds: [p.dev('a')] })).toEqual([]);
    });

    it('flags a value by the reading it came from, and an older reading written later changes nothing', async () => {
      const p = pilotOf('latest-flags');
      await store.write([{ ...p.r('a', T0 + 10, { t: 1, h: 99 }), suspect: ['h'] }, p.r('a', T0 + 20, { t: 2 })]);
      await store.write([p.r('a', T0, { t: 7, h: 7 })]);
      expect(await store.queryLatest(ALL, { pilotId: p.pilotId, deviceIds: [p.dev('a')] })).toEqual([
        { deviceId: p.dev('a'), time: T0 + 20, values: { t: 2, h: 99 }, times: { t: T0 + 20, h: T0 + 10 }, suspect: ['h'] },
      ]);
    });
  });
}
