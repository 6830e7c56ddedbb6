import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../store/types.js';
import { bearer, openTestApi, type TestApi } from './helpers/api.js';
import { eventually } from './helpers/wait.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';

interface SseEvent {
  event: string;
  data: string;
}

/** A Server-Sent Events client over fetch: collects events as they arrive; reading can be paused. */
async function openStream(url: string, key: string) {
  const res = await fetch(url, { headers: { ...bearer(key), accept: 'text/event-stream' } });
  const events: SseEvent[] = [];
  let ended = false;
  let paused: Promise<void> | undefined;
  let resume = () => undefined as void;
  const reader = res.body?.getReader();
  const done = (async () => {
    if (!reader) return;
    const decoder = new TextDecoder();
    let text = '';
    for (;;) {
      if (paused) await paused;
      const { done: finished, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (finished) break;
      text += decoder.decode(value, { stream: true });
      const blocks = text.split('\n\n');
      text = blocks.pop()!;
      for (const block of blocks) {
        const lines = block.split('\n').filter((l) => !l.startsWith(':') && !l.startsWith('retry:'));
        if (lines.length === 0) continue;
        const field = (name: string) => lines.find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
        events.push({ event: field('event') ?? 'message', data: field('data') ?? '' });
      }
    }
    ended = true;
  })();
  return {
    res,
    events,
    done,
    get ended() {
      return ended;
    },
    readings: () =>
      events.filter((e) => e.event === 'message').map((e) => JSON.parse(e.data) as { deviceId: string; time: string; values: Record<string, number> }),
    pause() {
      paused = new Promise<void>((r) => {
        resume = r;
      });
    },
    resume() {
      const r = resume;
      paused = undefined;
      r();
    },
    close: () => reader?.cancel().catch(() => undefined),
  };
}

let api: TestApi;
let base: string;
const ids = { companyA: '', companyB: '', pilotA: '', pilotB: '', shared: '', deviceA: '', sharedDevice: '' };
const keys = { a: '', b: '', researcher: '' };

beforeAll(async () => {
  api = await openTestApi({ limits: { liveHeartbeatMs: 100, liveBufferSize: 10, maxLiveStreamsPerKey: 3, maxLiveStreamsPerCompany: 4 } });
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
  const a = await api.registry.createCompany(SETUP.scope, 'Live A');
  const b = await api.registry.createCompany(SETUP.scope, 'Live B');
  ids.companyA = a.id;
  ids.companyB = b.id;
  const pilotA = await api.registry.createPilot(SETUP.scope, { companyId: a.id, testbedId: 'helsinki', name: 'A' });
  const shared = await api.registry.createPilot(SETUP.scope, { companyId: a.id, testbedId: 'helsinki', name: 'A shared', sharing: 'open' });
  ids.pilotA = pilotA.id;
  ids.shared = shared.id;
  ids.pilotB = (await api.registry.createPilot(SETUP.scope, { companyId: b.id, testbedId: 'helsinki', name: 'B' })).id;
  ids.deviceA = (await api.registry.createDevice(SETUP.scope, pilotA.id, { profile: 'noise' })).device.id;
  ids.sharedDevice = (await api.registry.createDevice(SETUP.scope, shared.id, { profile: 'noise' })).device.id;
  keys.a = (await api.registry.createCompanyKey(SETUP, a.id)).key;
  keys.b = (await api.registry.createCompanyKey(SETUP, b.id)).key;
  keys.researcher = (await api.registry.createKey(SETUP, { role: 'researcher', companyId: null, testbedIds: null, readOnly: true, expiresAt: null }, null)).key;
});
afterAll(async () => api?.close());

const reading = (i: number, tags: Partial<Reading> = {}): Reading => ({
  deviceId: ids.deviceA,
  pilotId: ids.pilotA,
  companyId: ids.companyA,
  testbedId: 'helsinki',
  profile: 'noise',
  time: Date.UTC(2025, 0, 1) + i * 1000,
  values: { laeq: 40 + i },
  ...tags,
});

describe('GET /v1/pilots/{pilotId}/live', () => {
  it("streams the pilot's readings stored after subscribing, and nothing else", async () => {
    const stream = await openStream(`${base}/v1/pilots/${ids.pilotA}/live`, keys.a);
    expect(stream.res.status).toBe(200);
    expect(stream.res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    await eventually(() => (api.live.subscribers > 0 ? true : undefined));
    api.live.publish([reading(1), reading(2, { pilotId: ids.pilotB, companyId: ids.companyB }), reading(3)]);
    api.live.publish([reading(4, { pilotId: ids.shared, deviceId: ids.sharedDevice }), reading(5)]);
    const got = await eventually(() => (stream.readings().length >= 3 ? stream.readings() : undefined));
    expect(got).toEqual([1, 3, 5].map((i) => ({ deviceId: ids.deviceA, time: new Date(reading(i).time).toISOString(), values: { laeq: 40 + i } })));
    await stream.close();
    await eventually(() => (api.live.subscribers === 0 ? true : undefined));
  });

  it('carries the quality flag as the readings route does: only when raised', async () => {
    const stream = await openStream(`${base}/v1/pilots/${ids.pilotA}/live`, keys.a);
    await eventually(() => (api.live.subscribers > 0 ? true : undefined));
    api.live.publish([
      { ...reading(6), suspect: ['laeq'] },
      { ...reading(7), suspect: [] },
    ]);
    const got = await eventually(() => (stream.readings().length >= 2 ? stream.readings() : undefined));
    expect(got).toEqual([
      { deviceId: ids.deviceA, time: new Date(reading(6).time).toISOString(), values: { laeq: 46 }, suspect: ['laeq'] },
      { deviceId: ids.deviceA, time: new Date(reading(7).time).toISOString(), values: { laeq: 47 } },
    ]);
    await stream.close();
    await eventually(() => (api.live.subscribers === 0 ? true : undefined));
  });

  it('is scoped like every read: another company gets the 404 of a missing pilot; a researcher only shared pilots', async () => {
    const other = await fetch(`${base}/v1/pilots/${ids.pilotA}/live`, { headers: bearer(keys.b) });
    const missing = await fetch(`${base}/v1/pilots/pi_aaaaaaaaaaaaaaaa/live`, { headers: bearer(keys.b) });
    expect(other.status).toBe(404);
    expect(await other.text()).toBe(await missing.text());
    expect((await fetch(`${base}/v1/pilots/${ids.pilotA}/live`, { headers: bearer(keys.researcher) })).status).toBe(404);
    const shared = await openStream(`${base}/v1/pilots/${ids.shared}/live`, keys.researcher);
    expect(shared.res.status).toBe(200);
    await shared.close();
  });

  it('tells a client that fell behind how many readings it lost, and keeps the newest', async () => {
    const stream = await openStream(`${base}/v1/pilots/${ids.pilotA}/live`, keys.a);
    await eventually(() => (api.live.subscribers > 0 ? true : undefined));
    // 50 readings in one turn of the event loop: the stream's buffer holds 10.
    for (let i = 0; i < 50; i++) api.live.publish([reading(100 + i)]);
    await eventually(() => (stream.readings().length >= 10 ? true : undefined));
    expect(stream.events.find((e) => e.event === 'dropped')?.data).toContain('"dropped":40');
    expect(stream.readings().map((r) => r.values.laeq)).toEqual(Array.from({ length: 10 }, (_, i) => 180 + i));
    await stream.close();
  });

  it('never holds up the publisher when a client stops reading', async () => {
    const stream = await openStream(`${base}/v1/pilots/${ids.pilotA}/live`, keys.a);
    await eventually(() => (api.live.subscribers > 0 ? true : undefined));
    stream.pause();
    let slowest = 0;
    const heapBefore = process.memoryUsage().heapUsed;
    for (let b = 0; b < 200; b++) {
      const batch = Array.from({ length: 500 }, (_, i) => reading(1000 + b * 500 + i, { values: { laeq: 50, lamax: 70.25 } }));
      const t = performance.now();
      api.live.publish(batch);
      slowest = Math.max(slowest, performance.now() - t);
      await new Promise((r) => setImmediate(r));
    }
    // 100 000 readings (~10 MB of events) to a client that reads nothing.
    expect(slowest).toBeLessThan(50);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(60 * 1024 * 1024);
    stream.resume();
    await eventually(() => (stream.events.some((e) => e.event === 'dropped') ? true : undefined), 10_000);
    await stream.close();
  });

  it('ends a stream once its key is revoked, and limits streams per key', async () => {
    const { key, apiKey } = await api.registry.createCompanyKey(SETUP, ids.companyA);
    const streams = [
      await openStream(`${base}/v1/pilots/${ids.pilotA}/live`, key),
      await openStream(`${base}/v1/pilots/${ids.pilotA}/live`, key),
      await openStream(`${base}/v1/pilots/${ids.pilotA}/live`, key),
    ];
    const fourth = await fetch(`${base}/v1/pilots/${ids.pilotA}/live`, { headers: bearer(key) });
    expect(fourth.status).toBe(429);
    expect(fourth.headers.get('retry-after')).toBe('1');
    expect(((await fourth.json()) as { error: { code: string } }).error.code).toBe('TESTBED_RATE_LIMITED');
    await api.registry.revokeKey({ role: 'admin', companyId: null, testbedIds: null, readOnly: false, expiresAt: null }, apiKey.id);
    for (const s of streams) {
      await s.done;
      expect(s.events.at(-1)).toEqual({ event: 'end', data: expect.stringContaining('TESTBED_UNAUTHORIZED') });
    }
    expect((await fetch(`${base}/v1/pilots/${ids.pilotA}/live`, { headers: bearer(key) })).status).toBe(401);
  });

  it("limits a company's streams across its keys, leaving other companies theirs", async () => {
    const admin = { role: 'admin', companyId: null, testbedIds: null, readOnly: false, expiresAt: null } as const;
    const [k1, k2, kb] = [
      await api.registry.createCompanyKey(SETUP, ids.companyA),
      await api.registry.createCompanyKey(SETUP, ids.companyA),
      await api.registry.createCompanyKey(SETUP, ids.companyB),
    ];
    const url = `${base}/v1/pilots/${ids.pilotA}/live`;
    const streams = [await openStream(url, k1.key), await openStream(url, k1.key), await openStream(url, k2.key), await openStream(url, k2.key)];
    const fifth = await fetch(url, { headers: bearer(k2.key) });
    expect(fifth.status).toBe(429);
    expect(((await fifth.json()) as { error: { message: string } }).error.message).toContain("company's keys");
    const other = await openStream(`${base}/v1/pilots/${ids.pilotB}/live`, kb.key);
    expect(other.res.status).toBe(200);
    // Streams that end give their places back.
    await api.registry.revokeKey(admin, k1.apiKey.id);
    await Promise.all(streams.slice(0, 2).map((s) => s.done));
    const again = await openStream(url, k2.key);
    expect(again.res.status).toBe(200);
    await api.registry.revokeKey(admin, k2.apiKey.id);
    await api.registry.revokeKey(admin, kb.apiKey.id);
    await Promise.all([...streams, other, again].map((s) => s.done));
  });

  it("ends a researcher's stream once the pilot is no longer shared", async () => {
    const stream = await openStream(`${base}/v1/pilots/${ids.shared}/live`, keys.researcher);
    await api.registry.updatePilot({ kind: 'all' }, ids.shared, { sharing: 'private' });
    await stream.done;
    expect(stream.events.at(-1)).toEqual({ event: 'end', data: expect.stringContaining('TESTBED_NOT_FOUND') });
  });
});
