import { expect, it } from 'vitest';
import type { Scope } from '../core/model.js';
import type { ReadingStore } from '../store/types.js';
import { randomUUID } from 'node:crypto';
import type { Reading } from '../store/types.js';

const ALL: Scope = { kind: 'all' };
const T0 = Date.UTC(2025, 0, 1);
const freshId = (label: string): string => `${label}-${randomUUID().slice(0, 8)}`;
const reading = (deviceId: string, time: number, values: Record<string, number>, tags: Partial<Reading>): Reading => ({
  deviceId,
  pilotId: 'pi_1',
  companyId: 'co_a',
  testbedId: 'helsinki',
  profile: 'air-quality',
  time,
  values,
  ...tags,
});

/** Counting, deleting and checking a pilot's readings: the part of the contract erasure and retention rest on. */
export function describeErasureContract(store: () => ReadingStore): void {
  it('counts a pilot’s readings per device, all of them or those before a time, within the scope', async () => {
    const pilotId = freshId('pi');
    const [a, b] = [freshId('count'), freshId('count')];
    await store().write([
      reading(a, T0, { v: 1 }, { pilotId }),
      reading(a, T0 + 1000, { v: 2, w: 3 }, { pilotId }),
      reading(b, T0 + 2000, { v: 3 }, { pilotId, companyId: 'co_b' }),
    ]);
    expect(await store().countReadings(ALL, { pilotId })).toEqual({ [a]: 2, [b]: 1 });
    expect(await store().countReadings(ALL, { pilotId, before: T0 + 1000 })).toEqual({ [a]: 1 });
    expect(await store().countReadings({ kind: 'company', companyId: 'co_b' }, { pilotId })).toEqual({ [b]: 1 });
  });

  it('deletes exactly the readings before a time, and a whole pilot, leaving other pilots alone', async () => {
    const [pilotId, otherPilot] = [freshId('pi'), freshId('pi')];
    const [d, other] = [freshId('del'), freshId('keep')];
    await store().write([...[0, 999, 1000, 1001].map((t) => reading(d, T0 + t, { v: t }, { pilotId })), reading(other, T0, { v: 1 }, { pilotId: otherPilot })]);
    await store().deleteReadings(ALL, { pilotId, before: T0 + 1000 });
    expect(await store().countReadings(ALL, { pilotId })).toEqual({ [d]: 2 });
    await store().deleteReadings(ALL, { pilotId });
    await store().deleteReadings(ALL, { pilotId }); // idempotent
    expect(await store().countReadings(ALL, { pilotId })).toEqual({});
    expect((await store().checkErased(pilotId)).every((c) => c.result === 0)).toBe(true);
    expect(await store().queryLatest(ALL, { pilotId, deviceIds: [d] })).toEqual([]);
    expect(await store().countReadings(ALL, { pilotId: otherPilot })).toEqual({ [other]: 1 });
    expect((await store().checkErased(otherPilot)).some((c) => c.result > 0)).toBe(true);
  });

  it('deletes only in the all scope', async () => {
    await expect(store().deleteReadings({ kind: 'company', companyId: 'co_a' }, { pilotId: 'pi_1' })).rejects.toThrow();
  });
}
