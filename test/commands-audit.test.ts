import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../core/events.js';
import type { AuditEntry } from '../core/model.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';
import { ADMIN, bearer, openTestApi, type TestApi } from './helpers/api.js';
import { eventually } from './helpers/wait.js';

/*
 * Who sees commands and configuration changes besides the device: the audit
 * log (what was sent, by whom) and a pilot's live stream (status changes, for
 * those who manage the devices only). The API over real HTTP, a real registry.
 */

interface SseEvent {
  readonly event: string;
  readonly data: string;
}

/** A Server-Sent Events reader over fetch, collecting every event until closed; `key` undefined reads anonymously. */
async function openStream(url: string, key: string | undefined) {
  const res = await fetch(url, { headers: { ...(key === undefined ? {} : bearer(key)), accept: 'text/event-stream' } });
  const events: SseEvent[] = [];
  const reader = res.body!.getReader();
  void (async () => {
    const decoder = new TextDecoder();
    let text = '';
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return;
      text += decoder.decode(value, { stream: true });
      const blocks = text.split('\n\n');
      text = blocks.pop()!;
      for (const block of blocks) {
        const field = (name: string) =>
          block
            .split('\n')
            .find((l) => l.startsWith(`${name}: `))
            ?.slice(name.length + 2);
        const data = field('data');
        if (data !== undefined) events.push({ event: field('event') ?? 'message', data });
      }
    }
  })();
  return { status: res.status, events, close: () => reader.cancel().catch(() => undefined) };
}

let api: TestApi;
let base: string;
const ids = { company: '', pilot: '', device: '' };
const keys = { company: '', operator: '', researcher: '' };

beforeAll(async () => {
  api = await openTestApi({ events: new EventBus() });
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
  const company = await api.registry.createCompany(SETUP.scope, 'Beacon Oy');
  ids.company = company.id;
  // An open pilot: researchers and anonymous readers may stream its readings.
  ids.pilot = (await api.registry.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'helsinki', name: 'Open beacons', sharing: 'open' })).id;
  ids.device = (await api.registry.createDevice(SETUP.scope, ids.pilot, { profile: 'safety-beacon' })).device.id;
  keys.company = (await api.registry.createCompanyKey(SETUP, company.id)).key;
  keys.operator = (
    await api.registry.createKey(SETUP, { role: 'operator', companyId: null, testbedIds: ['helsinki'], readOnly: false, expiresAt: null }, null)
  ).key;
  keys.researcher = (await api.registry.createKey(SETUP, { role: 'researcher', companyId: null, testbedIds: null, readOnly: true, expiresAt: null }, null)).key;
});
afterAll(async () => api?.close());

const request = (method: 'POST' | 'PUT', url: string, key: string, payload: object) => api.app.inject({ method, url, headers: bearer(key), payload });
const auditOf = async (route: string) =>
  ((await api.app.inject({ url: '/v1/audit', headers: bearer(ADMIN) })).json().entries as AuditEntry[]).filter((e) => e.route === route && e.method !== 'GET');

describe('the audit log of commands and desired configuration', () => {
  it('records the command sent, its name and parameters, by the key that sent it; a refused one records no detail', async () => {
    const sent = await request('POST', `/v1/devices/${ids.device}/commands`, keys.company, { name: 'set_interval', params: { seconds: 30 } });
    expect(sent.statusCode, sent.body).toBe(201);
    const refused = await request('POST', `/v1/devices/${ids.device}/commands`, keys.operator, { name: 'set_interval', params: { seconds: 1 } });
    expect(refused.statusCode).toBe(400);

    const [ok, bad] = await auditOf('/v1/devices/:deviceId/commands');
    expect(ok).toMatchObject({ action: 'change', status: 201, role: 'company', keyId: sent.json().sentBy, deviceId: ids.device, pilotId: ids.pilot });
    expect(ok!.detail).toEqual({
      commandId: { from: null, to: sent.json().id },
      name: { from: null, to: 'set_interval' },
      params: { from: null, to: { seconds: 30 } },
      expiresAt: { from: null, to: sent.json().expiresAt },
    });
    expect(bad).toMatchObject({ status: 400, role: 'operator', detail: null });
  });

  it('records each desired configuration, old document to new, with its version', async () => {
    const url = `/v1/devices/${ids.device}/config/desired`;
    expect((await request('PUT', url, keys.operator, { reportingIntervalSeconds: 60 })).statusCode).toBe(200);
    expect((await request('PUT', url, keys.company, { reportingIntervalSeconds: 30, ledEnabled: false })).statusCode).toBe(200);
    expect((await request('PUT', url, keys.company, { reportingIntervalSeconds: 'often' })).statusCode).toBe(400);

    const entries = await auditOf('/v1/devices/:deviceId/config/desired');
    expect(entries.map((e) => [e.role, e.status, e.detail])).toEqual([
      ['operator', 200, { version: { from: null, to: 1 }, config: { from: null, to: { reportingIntervalSeconds: 60 } } }],
      [
        'company',
        200,
        { version: { from: 1, to: 2 }, config: { from: { reportingIntervalSeconds: 60 }, to: { reportingIntervalSeconds: 30, ledEnabled: false } } },
      ],
      ['company', 400, null],
    ]);
  });
});

describe("command events on a pilot's live stream", () => {
  it('reach admin, operator and company streams, never a researcher’s or an anonymous one', async () => {
    const url = `${base}/v1/pilots/${ids.pilot}/live`;
    const managers = await Promise.all([ADMIN, keys.operator, keys.company].map((key) => openStream(url, key)));
    const readers = await Promise.all([keys.researcher, undefined].map((key) => openStream(url, key)));
    for (const stream of [...managers, ...readers]) expect(stream.status).toBe(200);
    await eventually(() => (api.live.subscribers === 5 ? true : undefined), 5000, 'five streams');

    const sent = await request('POST', `/v1/devices/${ids.device}/commands`, keys.company, { name: 'reboot' });
    expect(sent.statusCode).toBe(201);
    // A reading after the command: once a stream has it, it would have had the command event before it.
    api.live.publish([
      {
        deviceId: ids.device,
        pilotId: ids.pilot,
        companyId: ids.company,
        testbedId: 'helsinki',
        profile: 'safety-beacon',
        time: Date.now(),
        values: { activations: 3 },
      },
    ]);
    for (const stream of [...managers, ...readers]) {
      await eventually(() => (stream.events.some((e) => e.event === 'message') ? true : undefined), 5000, 'the reading');
    }
    for (const stream of managers) {
      const commands = stream.events.filter((e) => e.event === 'command').map((e) => JSON.parse(e.data) as Record<string, unknown>);
      expect(commands).toEqual([{ type: 'command.queued', deviceId: ids.device, commandId: sent.json().id, name: 'reboot', status: 'queued' }]);
    }
    for (const stream of readers) expect(stream.events.map((e) => e.event)).toEqual(['licence', 'message']);
    await Promise.all([...managers, ...readers].map((s) => s.close()));
  });
});
