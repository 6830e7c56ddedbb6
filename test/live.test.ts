import { describe, expect, it } from 'vitest';
import { LiveFeed } from '../ingest/live.js';
import type { Reading } from '../store/types.js';

const reading = (i: number, tags: Partial<Reading> = {}): Reading => ({
  deviceId: 'd1',
  pilotId: 'p1',
  companyId: 'co_a',
  testbedId: 'helsinki',
  profile: 'noise',
  time: 1000 + i,
  values: { laeq: i },
  ...tags,
});
const turn = () => new Promise((r) => setImmediate(r));

describe('LiveFeed', () => {
  it('hands each subscriber exactly what its pilot, device and scope admit', async () => {
    const feed = new LiveFeed();
    const calls: string[] = [];
    const pilot = feed.subscribe({ scope: { kind: 'company', companyId: 'co_a' }, pilotId: 'p1' }, () => calls.push('pilot'));
    const device = feed.subscribe({ scope: { kind: 'all' }, pilotId: 'p1', deviceId: 'd2' }, () => calls.push('device'));
    const outsider = feed.subscribe({ scope: { kind: 'company', companyId: 'co_b' }, pilotId: 'p1' }, () => calls.push('outsider'));
    const researcher = feed.subscribe({ scope: { kind: 'research', pilotIds: ['p2'] }, pilotId: 'p1' }, () => calls.push('researcher'));
    const operator = feed.subscribe({ scope: { kind: 'testbeds', testbedIds: ['helsinki'] }, pilotId: 'p1' }, () => calls.push('operator'));
    feed.publish([reading(1), reading(2, { deviceId: 'd2' }), reading(3, { pilotId: 'p9' })]);
    expect(calls).toEqual([]); // never called inside publish
    await turn();
    expect(calls.sort()).toEqual(['device', 'operator', 'pilot']);
    expect(pilot.take()).toEqual({ readings: [reading(1), reading(2, { deviceId: 'd2' })], dropped: 0 });
    expect(device.take().readings).toEqual([reading(2, { deviceId: 'd2' })]);
    expect(outsider.take()).toEqual({ readings: [], dropped: 0 });
    expect(researcher.take().readings).toEqual([]);
    expect(operator.take().readings).toHaveLength(2);
  });

  it('tells a subscriber once per burst, and keeps only the newest readings of one that falls behind', async () => {
    const feed = new LiveFeed({ bufferSize: 3 });
    let told = 0;
    const sub = feed.subscribe({ scope: { kind: 'all' }, pilotId: 'p1' }, () => told++);
    for (let i = 0; i < 5; i++) feed.publish([reading(i)]);
    await turn();
    expect(told).toBe(1);
    expect(sub.take()).toEqual({ readings: [reading(2), reading(3), reading(4)], dropped: 2 });
    expect(sub.take()).toEqual({ readings: [], dropped: 0 });
    const big = feed.subscribe({ scope: { kind: 'all' }, pilotId: 'p1' }, () => undefined, { bufferSize: 10 });
    feed.publish([reading(5), reading(6), reading(7), reading(8)]);
    expect(big.take().readings).toHaveLength(4);
    expect(sub.take()).toEqual({ readings: [reading(6), reading(7), reading(8)], dropped: 1 });
  });

  it('forgets a closed subscription', async () => {
    const feed = new LiveFeed();
    let told = 0;
    const sub = feed.subscribe({ scope: { kind: 'all' }, pilotId: 'p1' }, () => told++);
    expect(feed.subscribers).toBe(1);
    feed.publish([reading(1)]);
    sub.close();
    await turn();
    expect(told).toBe(0);
    expect(feed.subscribers).toBe(0);
    sub.close();
  });

  it('costs a publisher the same whether or not a subscriber ever reads, with memory bounded by its buffer', () => {
    const feed = new LiveFeed({ bufferSize: 1000 });
    const stalled = Array.from({ length: 20 }, () => feed.subscribe({ scope: { kind: 'all' }, pilotId: 'p1' }, () => undefined));
    const batch = Array.from({ length: 1000 }, (_, i) => reading(i));
    const started = performance.now();
    for (let i = 0; i < 200; i++) feed.publish(batch);
    // 200 000 readings to 20 subscribers that never take: well under a second, and each holds 1000.
    expect(performance.now() - started).toBeLessThan(1500);
    expect(stalled[0]!.take()).toMatchObject({ dropped: 199_000 });
  });
});
