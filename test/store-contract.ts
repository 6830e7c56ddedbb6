import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Scope } from '../core/model.js';
import type { Reading, ReadingStore } from '../store/types.js';
import { readDevice } from './helpers/readings.js';
import { describeErasureContract } from './store-contract-erasure.js';
import { describeQueryContract } from './store-contract-queries.js';

export interface OpenedStore {
  readonly store: ReadingStore;
  /** Closes the store and whatever `open` started for it. */
  close(): Promise<void>;
}

const ALL: Scope = { kind: 'all' };
const companyScope = (companyId: string): Scope => ({ kind: 'company', companyId });

/** 2025-01-01T00:00:00Z: a fixed instant, so runs are repeatable. */
export const T0 = Date.UTC(2025, 0, 1);

/** A reading of company `co_a` unless the tags say otherwise. */
export function reading(deviceId: string, time: number, values: Record<string, number>, tags: Partial<Reading> = {}): Reading {
  return { deviceId, pilotId: 'pi_1', companyId: 'co_a', testbedId: 'helsinki', profile: 'air-quality', time, values, ...tags };
}

/** A device id no other test uses, so tests can share one store. */
export const freshId = (label: string): string => `${label}-${randomUUID().slice(0, 8)}`;

/**
 * The behaviour every ReadingStore has, checked against the real thing. Each
 * test uses its own device ids, so the tests share one store.
 */
export function describeStoreContract(name: string, open: () => Promise<OpenedStore>): void {
  describe(`ReadingStore contract: ${name}`, () => {
    let opened: OpenedStore | undefined;
    let store: ReadingStore;

    beforeAll(async () => {
      opened = await open();
      store = opened.store;
    });
    afterAll(async () => {
      await opened?.close();
    });

    const read = (deviceId: string, q: { from?: number; to?: number; limit?: number } = {}, scope: Scope = ALL) => readDevice(store, deviceId, q, scope);

    it('answers ping', async () => {
      expect(await store.ping()).toBe(true);
    });

    it('reads back exactly the values and times written', async () => {
      const d = freshId('exact');
      const result = await store.write([
        reading(d, T0, { pm2_5: 12.5, pm10: 20.25, temperature: -3.5 }),
        reading(d, T0 + 1, { pm2_5: 13, pm10: 21, temperature: -3.25 }),
      ]);
      expect(result).toEqual({ refused: [] });
      expect(await read(d)).toEqual([
        { time: T0, values: { pm2_5: 12.5, pm10: 20.25, temperature: -3.5 } },
        { time: T0 + 1, values: { pm2_5: 13, pm10: 21, temperature: -3.25 } },
      ]);
    });

    it('returns each reading with only the values it has', async () => {
      const d = freshId('sparse');
      await store.write([reading(d, T0, { noise: 40 }), reading(d, T0 + 1000, { humidity: 55.5 })]);
      expect(await read(d)).toEqual([
        { time: T0, values: { noise: 40 } },
        { time: T0 + 1000, values: { humidity: 55.5 } },
      ]);
    });

    it('returns readings oldest first, whatever order they were written in', async () => {
      const d = freshId('order');
      const times = [T0 + 5000, T0, T0 + 3000, T0 + 1000, T0 + 4000, T0 + 2000];
      await store.write(times.map((t) => reading(d, t, { v: t - T0 })));
      const rows = await read(d);
      expect(rows.map((r) => r.time)).toEqual([...times].sort((a, b) => a - b));
      expect(rows.map((r) => r.values.v)).toEqual([0, 1000, 2000, 3000, 4000, 5000]);
    });

    it('honours limit, keeping the oldest', async () => {
      const d = freshId('limit');
      await store.write(Array.from({ length: 10 }, (_, i) => reading(d, T0 + i * 1000, { v: i })));
      expect((await read(d, { limit: 3 })).map((r) => r.values.v)).toEqual([0, 1, 2]);
      expect(await read(d, { limit: 1 })).toEqual([{ time: T0, values: { v: 0 } }]);
      expect(await read(d, { limit: 0 })).toEqual([]);
    });

    it('takes from as inclusive and to as exclusive', async () => {
      const d = freshId('range');
      await store.write(Array.from({ length: 10 }, (_, i) => reading(d, T0 + i * 1000, { v: i })));
      const values = async (q: { from?: number; to?: number }) => (await read(d, q)).map((r) => r.values.v);
      expect(await values({ from: T0 + 3000, to: T0 + 6000 })).toEqual([3, 4, 5]);
      expect(await values({ from: T0 + 3001, to: T0 + 6001 })).toEqual([4, 5, 6]);
      expect(await values({ from: T0 + 8000 })).toEqual([8, 9]);
      expect(await values({ to: T0 + 2000 })).toEqual([0, 1]);
      expect(await values({ from: T0 + 5000, to: T0 + 5000 })).toEqual([]);
    });

    it('replaces a reading written again for the same device and time', async () => {
      const d = freshId('replace');
      await store.write([reading(d, T0, { pm2_5: 1, pm10: 2 })]);
      await store.write([reading(d, T0, { pm2_5: 3, pm10: 4 })]);
      expect(await read(d)).toEqual([{ time: T0, values: { pm2_5: 3, pm10: 4 } }]);
    });

    it('keeps readings of different devices apart', async () => {
      const a = freshId('dev-a');
      const b = freshId('dev-b');
      await store.write([reading(a, T0, { v: 1 }), reading(b, T0, { v: 2 }), reading(a, T0 + 1, { v: 3 })]);
      expect(await read(a)).toEqual([
        { time: T0, values: { v: 1 } },
        { time: T0 + 1, values: { v: 3 } },
      ]);
      expect(await read(b)).toEqual([{ time: T0, values: { v: 2 } }]);
      expect(await read(freshId('nobody'))).toEqual([]);
    });

    it("never shows a company another company's device, even asked by its id", async () => {
      const d = freshId('scoped');
      await store.write([reading(d, T0, { v: 1 }, { companyId: 'co_a' })]);
      expect(await read(d, {}, companyScope('co_b'))).toEqual([]);
      expect(await read(d, {}, companyScope('co_a'))).toEqual([{ time: T0, values: { v: 1 } }]);
      expect(await read(d, {}, ALL)).toEqual([{ time: T0, values: { v: 1 } }]);
    });

    it('stores ids with , = space \\ \' " exactly', async () => {
      const odd = freshId(`odd ,=\\x'"y`);
      await store.write([reading(odd, T0, { v: 7 }, { pilotId: 'pilot with, = "odd" \\chars', companyId: "co 'odd', =" })]);
      expect(await read(odd, {}, companyScope("co 'odd', ="))).toEqual([{ time: T0, values: { v: 7 } }]);
      expect(await read(odd, {}, companyScope('co_a'))).toEqual([]);
    });

    it('does not let a device id forge a tag', async () => {
      const suffix = randomUUID().slice(0, 8);
      const forged = `x-${suffix},company=co_b`;
      await store.write([reading(forged, T0, { v: 1 }, { companyId: 'co_a' })]);
      expect(await read(forged, {}, companyScope('co_b'))).toEqual([]);
      expect(await read(`x-${suffix}`, {}, companyScope('co_b'))).toEqual([]);
      expect(await read(`x-${suffix}`)).toEqual([]);
      expect(await read(forged, {}, companyScope('co_a'))).toEqual([{ time: T0, values: { v: 1 } }]);
    });

    it('does not let an id inject query syntax', async () => {
      const victim = freshId('victim');
      await store.write([reading(victim, T0, { v: 1 }, { companyId: 'co_a' })]);
      for (const id of [`' OR "device" = '${victim}`, `x' OR '1'='1`, `\\' OR 1=1 --`, `${victim}'`]) {
        expect(await read(id)).toEqual([]);
      }
      expect(await read(victim, {}, companyScope(`' OR ''='`))).toEqual([]);
      expect(await read(victim, {}, companyScope(`co_b' OR "company" = 'co_a`))).toEqual([]);
    });

    it('round-trips floats exactly, negatives too', async () => {
      const d = freshId('floats');
      const values = { a: 0.1 + 0.2, b: -273.15, c: -0.000001, d: 1e-7, e: 123456789.123456, f: 1e21, g: Number.MIN_VALUE, h: -Number.MAX_VALUE };
      await store.write([reading(d, T0, values)]);
      expect(await read(d)).toEqual([{ time: T0, values }]);
    });

    it('reads integer-valued numbers back as the same numbers', async () => {
      const d = freshId('ints');
      await store.write([reading(d, T0, { count: 5, zero: 0, negative: -12 }), reading(d, T0 + 1, { count: 5.5, zero: 0.25, negative: -12.5 })]);
      expect(await read(d)).toEqual([
        { time: T0, values: { count: 5, zero: 0, negative: -12 } },
        { time: T0 + 1, values: { count: 5.5, zero: 0.25, negative: -12.5 } },
      ]);
    });

    it('round-trips a batch of several thousand readings', async () => {
      const d = freshId('bulk');
      const batch = Array.from({ length: 5000 }, (_, i) => reading(d, T0 + i * 10, { i, half: i / 2, neg: -i * 1.5 - 0.25 }));
      expect(await store.write(batch)).toEqual({ refused: [] });
      const rows = await read(d, { limit: 10_000 });
      expect(rows).toEqual(batch.map((r) => ({ time: r.time, values: r.values })));
    });

    it('accepts an empty write', async () => {
      expect(await store.write([])).toEqual({ refused: [] });
    });

    it('keeps the quality flag of a reading, and gives none to a reading without one', async () => {
      const d = freshId('suspect');
      await store.write([
        { ...reading(d, T0, { pm25: 650, pm10: 900, temperature: 3 }), suspect: ['pm25', 'pm10'] },
        reading(d, T0 + 1000, { pm25: 6, pm10: 9, temperature: 3 }),
        { ...reading(d, T0 + 2000, { temperature: 45 }), suspect: [] },
      ]);
      const rows = await read(d);
      expect(rows).toEqual([
        { time: T0, values: { pm25: 650, pm10: 900, temperature: 3 }, suspect: ['pm25', 'pm10'] },
        { time: T0 + 1000, values: { pm25: 6, pm10: 9, temperature: 3 } },
        { time: T0 + 2000, values: { temperature: 45 } },
      ]);
      expect(rows[1]).not.toHaveProperty('suspect');
      expect(rows[2]).not.toHaveProperty('suspect');
    });

    it('keeps the stuck and gap flags beside suspect, and gives none to a reading without them', async () => {
      const d = freshId('stuck');
      await store.write([
        { ...reading(d, T0, { pm25: 5, temperature: 3 }), gap: true },
        { ...reading(d, T0 + 1000, { pm25: 5, temperature: 3 }), stuck: ['pm25', 'temperature'], suspect: ['pm25'] },
        { ...reading(d, T0 + 2000, { pm25: 6 }), stuck: [], gap: false },
      ]);
      const rows = await read(d);
      expect(rows).toStrictEqual([
        { time: T0, values: { pm25: 5, temperature: 3 }, gap: true },
        { time: T0 + 1000, values: { pm25: 5, temperature: 3 }, suspect: ['pm25'], stuck: ['pm25', 'temperature'] },
        { time: T0 + 2000, values: { pm25: 6 } },
      ]);
    });

    describeQueryContract(() => store);
    describeErasureContract(() => store);
  });
}
