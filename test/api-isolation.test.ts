import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallerRole, Sharing } from '../core/model.js';
import { ADMIN, bearer, openTestApi, type TestApi } from './helpers/api.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';

/*
 * Proof of isolation: every operation of the OpenAPI document, called by every
 * role (and a read-only key), on objects in each of four placements and on an
 * id that does not exist. The expectations are written out here, independently
 * of the code under test: who may call what (ROLES) and who sees what (SEES).
 * An object the caller may not see must answer exactly as a missing one does.
 */

const T0 = Date.parse('2025-03-01T00:00:00Z');
const HOUR = 3_600_000;
const MISSING = {
  pilot: 'pi_aaaaaaaaaaaaaaaa',
  device: 'dev_aaaaaaaaaaaaaaaa',
  key: 'key_aaaaaaaaaaaaaaaa',
  company: 'co_aaaaaaaaaaaaaaaa',
  command: 'cmd_aaaaaaaaaaaaaaaa',
  webhook: 'wh_aaaaaaaaaaaaaaaa',
};
/** A public address, so no name is resolved and no allow-list is needed. */
const HOOK_URL = 'https://93.184.216.34/hook';

type Who = 'admin' | 'operatorH' | 'operatorT' | 'companyA' | 'companyB' | 'researcher' | 'metricsR' | 'readOnlyA' | 'anonymous';
const WHO: Who[] = ['admin', 'operatorH', 'operatorT', 'companyA', 'companyB', 'researcher', 'metricsR', 'readOnlyA', 'anonymous'];
const ROLE: Record<Who, CallerRole> = {
  anonymous: 'anonymous',
  admin: 'admin',
  operatorH: 'operator',
  operatorT: 'operator',
  companyA: 'company',
  companyB: 'company',
  researcher: 'researcher',
  metricsR: 'researcher',
  readOnlyA: 'company',
};
/** Key scopes beside the role: `metricsR` is a researcher key that may also read the metrics. */
const SCOPES: Partial<Record<Who, 'metrics'[]>> = { metricsR: ['metrics'] };

/** Where pilots are placed: company, testbed, sharing (`embargoed`: open from 2099, research until then). */
const PLACES = {
  A_hel: ['A', 'helsinki', 'private'],
  A_esp: ['A', 'espoo', 'research'],
  B_hel: ['B', 'helsinki', 'private'],
  B_tam: ['B', 'tampere', 'open'],
  A_emb: ['A', 'espoo', 'embargoed'],
} as const;
type Place = keyof typeof PLACES;
const SEES: Record<Who, Place[]> = {
  admin: ['A_hel', 'A_esp', 'B_hel', 'B_tam', 'A_emb'],
  operatorH: ['A_hel', 'B_hel'],
  operatorT: ['B_tam'],
  companyA: ['A_hel', 'A_esp', 'A_emb'],
  companyB: ['B_hel', 'B_tam'],
  researcher: ['A_esp', 'B_tam', 'A_emb'],
  metricsR: ['A_esp', 'B_tam', 'A_emb'],
  readOnlyA: ['A_hel', 'A_esp', 'A_emb'],
  anonymous: ['B_tam'],
};

/** Keys as objects: which keys each caller may see and revoke. */
const KEYS = ['coA', 'coB', 'opH', 'opT', 'resH', 'resAll'] as const;
type KeyPlace = (typeof KEYS)[number];
const MANAGES: Record<Who, KeyPlace[]> = {
  admin: [...KEYS],
  operatorH: ['opH', 'resH'],
  operatorT: ['opT'],
  companyA: ['coA'],
  companyB: ['coB'],
  researcher: [],
  metricsR: [],
  readOnlyA: ['coA'],
  anonymous: [],
};

const ANY: CallerRole[] = ['admin', 'operator', 'company', 'researcher'];
/** Open-data reads: any key, and none. */
const OPEN: CallerRole[] = [...ANY, 'anonymous'];
const MANAGERS: CallerRole[] = ['admin', 'operator', 'company'];

interface RouteCase {
  readonly roles: CallerRole[];
  /** Key scopes that admit a caller whatever its role. */
  readonly scopes?: 'metrics'[];
  readonly changes: boolean;
  readonly target: 'pilot' | 'device' | 'webhook' | 'key' | 'company' | 'testbed' | 'rule' | 'export' | 'receipt' | 'none';
  readonly ok: number;
  readonly url: (id: string) => string;
  readonly body?: (who: Who) => object;
}

const agg = `from=${T0}&to=${T0 + HOUR}&every=15m&fn=mean`;
const ROUTES: Record<string, RouteCase> = {
  'GET /v1/testbeds': { roles: OPEN, changes: false, target: 'none', ok: 200, url: () => '/v1/testbeds' },
  'GET /v1/profiles': { roles: OPEN, changes: false, target: 'none', ok: 200, url: () => '/v1/profiles' },
  'GET /v1/me': { roles: ANY, changes: false, target: 'none', ok: 200, url: () => '/v1/me' },
  'POST /v1/keys': {
    roles: MANAGERS,
    changes: true,
    target: 'none',
    ok: 201,
    url: () => '/v1/keys',
    body: (who) =>
      ROLE[who] === 'operator'
        ? { role: 'researcher', testbedIds: [who === 'operatorH' ? 'helsinki' : 'tampere'] }
        : { role: 'company', companyId: ids.company[who === 'companyB' ? 'B' : 'A'] },
  },
  'GET /v1/keys': { roles: MANAGERS, changes: false, target: 'none', ok: 200, url: () => '/v1/keys' },
  'DELETE /v1/keys/{keyId}': { roles: MANAGERS, changes: true, target: 'key', ok: 200, url: (id) => `/v1/keys/${id}` },
  'POST /v1/companies': { roles: ['admin'], changes: true, target: 'none', ok: 201, url: () => '/v1/companies', body: () => ({ name: 'New Oy' }) },
  'GET /v1/companies': { roles: ANY, changes: false, target: 'none', ok: 200, url: () => '/v1/companies' },
  'POST /v1/companies/{companyId}/keys': {
    roles: ['admin'],
    changes: true,
    target: 'company',
    ok: 201,
    url: (id) => `/v1/companies/${id}/keys`,
    body: () => ({}),
  },
  'POST /v1/pilots': {
    roles: ['admin', 'operator'],
    changes: true,
    target: 'none',
    ok: 201,
    url: () => '/v1/pilots',
    body: (who) => ({ companyId: ids.company.C, testbedId: who === 'operatorT' ? 'tampere' : 'helsinki', name: 'New pilot' }),
  },
  'GET /v1/pilots': { roles: OPEN, changes: false, target: 'none', ok: 200, url: () => '/v1/pilots' },
  'GET /v1/pilots/{pilotId}': { roles: OPEN, changes: false, target: 'pilot', ok: 200, url: (id) => `/v1/pilots/${id}` },
  'PATCH /v1/pilots/{pilotId}': {
    roles: MANAGERS,
    changes: true,
    target: 'pilot',
    ok: 200,
    url: (id) => `/v1/pilots/${id}`,
    body: () => ({ name: 'Renamed' }),
  },
  'POST /v1/pilots/{pilotId}/end': { roles: MANAGERS, changes: true, target: 'pilot', ok: 200, url: (id) => `/v1/pilots/${id}/end` },
  'POST /v1/pilots/{pilotId}/devices': {
    roles: MANAGERS,
    changes: true,
    target: 'pilot',
    ok: 201,
    url: (id) => `/v1/pilots/${id}/devices`,
    body: () => ({ profile: 'weather' }),
  },
  'GET /v1/pilots/{pilotId}/devices': { roles: OPEN, changes: false, target: 'pilot', ok: 200, url: (id) => `/v1/pilots/${id}/devices` },
  'POST /v1/pilots/{pilotId}/devices/bulk': {
    roles: MANAGERS,
    changes: true,
    target: 'pilot',
    ok: 201,
    url: (id) => `/v1/pilots/${id}/devices/bulk`,
    body: () => ({ devices: [{ profile: 'noise' }, { profile: 'weather' }] }),
  },
  'GET /v1/pilots/{pilotId}/readings': { roles: OPEN, changes: false, target: 'pilot', ok: 200, url: (id) => `/v1/pilots/${id}/readings` },
  'GET /v1/pilots/{pilotId}/aggregates': { roles: OPEN, changes: false, target: 'pilot', ok: 200, url: (id) => `/v1/pilots/${id}/aggregates?${agg}` },
  'GET /v1/pilots/{pilotId}/latest': { roles: OPEN, changes: false, target: 'pilot', ok: 200, url: (id) => `/v1/pilots/${id}/latest` },
  // This app has no live feed, so a visible pilot answers 503 where an invisible one answers 404 (streams: test/api-live.test.ts).
  'GET /v1/pilots/{pilotId}/live': { roles: OPEN, changes: false, target: 'pilot', ok: 503, url: (id) => `/v1/pilots/${id}/live` },
  'GET /v1/devices/{deviceId}': { roles: OPEN, changes: false, target: 'device', ok: 200, url: (id) => `/v1/devices/${id}` },
  'POST /v1/devices/{deviceId}/rotate-secret': { roles: MANAGERS, changes: true, target: 'device', ok: 200, url: (id) => `/v1/devices/${id}/rotate-secret` },
  'POST /v1/devices/{deviceId}/revoke': { roles: MANAGERS, changes: true, target: 'device', ok: 200, url: (id) => `/v1/devices/${id}/revoke` },
  'GET /v1/devices/{deviceId}/readings': { roles: OPEN, changes: false, target: 'device', ok: 200, url: (id) => `/v1/devices/${id}/readings` },
  'GET /v1/devices/{deviceId}/aggregates': { roles: OPEN, changes: false, target: 'device', ok: 200, url: (id) => `/v1/devices/${id}/aggregates?${agg}` },
  'GET /v1/devices/{deviceId}/rejections': { roles: MANAGERS, changes: false, target: 'device', ok: 200, url: (id) => `/v1/devices/${id}/rejections` },
  'PATCH /v1/devices/{deviceId}': {
    roles: MANAGERS,
    changes: true,
    target: 'device',
    ok: 200,
    url: (id) => `/v1/devices/${id}`,
    body: () => ({ location: { type: 'Point', coordinates: [24.9, 60.2] }, placement: 'wall' }),
  },
  'GET /v1/devices/{deviceId}/locations': { roles: OPEN, changes: false, target: 'device', ok: 200, url: (id) => `/v1/devices/${id}/locations` },
  'GET /v1/datasets': { roles: OPEN, changes: false, target: 'none', ok: 200, url: () => '/v1/datasets' },
  'POST /v1/devices/{deviceId}/commands': {
    roles: MANAGERS,
    changes: true,
    target: 'device',
    ok: 201,
    url: (id) => `/v1/devices/${id}/commands`,
    body: () => ({ name: 'set_interval', params: { seconds: 60 } }),
  },
  'GET /v1/devices/{deviceId}/commands': { roles: MANAGERS, changes: false, target: 'device', ok: 200, url: (id) => `/v1/devices/${id}/commands` },
  'GET /v1/devices/{deviceId}/commands/{commandId}': {
    roles: MANAGERS,
    changes: false,
    target: 'device',
    ok: 200,
    url: (id) => `/v1/devices/${id}/commands/${commandOf.get(id) ?? MISSING.command}`,
  },
  'PUT /v1/devices/{deviceId}/config/desired': {
    roles: MANAGERS,
    changes: true,
    target: 'device',
    ok: 200,
    url: (id) => `/v1/devices/${id}/config/desired`,
    body: () => ({ reportingIntervalSeconds: 60 }),
  },
  'GET /v1/devices/{deviceId}/config': { roles: MANAGERS, changes: false, target: 'device', ok: 200, url: (id) => `/v1/devices/${id}/config` },
  'GET /v1/devices': { roles: ANY, changes: false, target: 'none', ok: 200, url: () => '/v1/devices' },
  'GET /v1/devices/{deviceId}/events': { roles: ANY, changes: false, target: 'device', ok: 200, url: (id) => `/v1/devices/${id}/events` },
  'GET /v1/testbeds/{testbedId}/health': { roles: ['admin', 'operator'], changes: false, target: 'testbed', ok: 200, url: (id) => `/v1/testbeds/${id}/health` },
  'PUT /v1/testbeds/{testbedId}/retention': {
    roles: ['admin', 'operator'],
    changes: true,
    target: 'testbed',
    ok: 200,
    url: (id) => `/v1/testbeds/${id}/retention`,
    body: () => ({ retentionDays: null }),
  },
  'POST /v1/alert-rules': {
    roles: MANAGERS,
    changes: true,
    target: 'none',
    ok: 201,
    url: () => '/v1/alert-rules',
    body: (who) =>
      ROLE[who] === 'company'
        ? { condition: 'silent', pilotId: ids.pilot[who === 'companyB' ? 'B_hel' : 'A_hel'] }
        : { condition: 'queue_age', threshold: 60, testbedId: who === 'operatorT' ? 'tampere' : 'helsinki' },
  },
  'GET /v1/alert-rules': { roles: MANAGERS, changes: false, target: 'none', ok: 200, url: () => '/v1/alert-rules' },
  'DELETE /v1/alert-rules/{ruleId}': { roles: MANAGERS, changes: true, target: 'rule', ok: 200, url: (id) => `/v1/alert-rules/${id}` },
  'GET /v1/alerts': { roles: MANAGERS, changes: false, target: 'none', ok: 200, url: () => '/v1/alerts' },
  'GET /v1/audit': { roles: ['admin', 'operator'], changes: false, target: 'none', ok: 200, url: () => '/v1/audit' },
  'POST /v1/webhooks': {
    roles: MANAGERS,
    changes: true,
    target: 'none',
    ok: 201,
    url: () => '/v1/webhooks',
    body: (who) => ({
      url: HOOK_URL,
      events: ['alert.opened'],
      ...(ROLE[who] === 'operator' ? { testbedId: who === 'operatorH' ? 'helsinki' : 'tampere' } : {}),
    }),
  },
  // This app collects no metrics, so an admitted key gets 503 (served for real: test/metrics-prometheus.test.ts).
  'GET /metrics': { roles: ['admin', 'operator'], scopes: ['metrics'], changes: false, target: 'none', ok: 503, url: () => '/metrics' },
  'POST /v1/pilots/{pilotId}/exports': { roles: MANAGERS, changes: true, target: 'pilot', ok: 202, url: (id) => `/v1/pilots/${id}/exports` },
  'GET /v1/exports/{exportId}': { roles: MANAGERS, changes: false, target: 'export', ok: 200, url: (id) => `/v1/exports/${id}` },
  'GET /v1/exports/{exportId}/download': { roles: MANAGERS, changes: false, target: 'export', ok: 200, url: (id) => `/v1/exports/${id}/download` },
  // The matrix's pilots are running, so a visible one answers 409 (not ended) where an invisible one answers 404 (erasure: test/lifecycle-erasure.test.ts).
  'POST /v1/pilots/{pilotId}/erase': {
    roles: MANAGERS,
    changes: true,
    target: 'pilot',
    ok: 409,
    url: (id) => `/v1/pilots/${id}/erase`,
    body: () => ({ confirm: 'not the name' }),
  },
  'GET /v1/pilots/{pilotId}/erasure': { roles: MANAGERS, changes: false, target: 'pilot', ok: 200, url: (id) => `/v1/pilots/${id}/erasure` },
  'GET /v1/receipts/{receiptId}': { roles: ANY, changes: false, target: 'receipt', ok: 200, url: (id) => `/v1/receipts/${id}` },
  'GET /.well-known/testbed-receipt-key': { roles: OPEN, changes: false, target: 'none', ok: 200, url: () => '/.well-known/testbed-receipt-key' },
  'GET /v1/webhooks': { roles: MANAGERS, changes: false, target: 'none', ok: 200, url: () => '/v1/webhooks' },
  'GET /v1/webhooks/{webhookId}': { roles: MANAGERS, changes: false, target: 'webhook', ok: 200, url: (id) => `/v1/webhooks/${id}` },
  'DELETE /v1/webhooks/{webhookId}': { roles: MANAGERS, changes: true, target: 'webhook', ok: 200, url: (id) => `/v1/webhooks/${id}` },
  'GET /v1/webhooks/{webhookId}/deliveries': {
    roles: MANAGERS,
    changes: false,
    target: 'webhook',
    ok: 200,
    url: (id) => `/v1/webhooks/${id}/deliveries`,
  },
};

let api: TestApi;
/** The command each fresh device was sent, for the routes that read one. */
const commandOf = new Map<string, string>();
const ids = { company: { A: '', B: '', C: '' }, pilot: {} as Record<Place, string> };
const keys = {} as Record<Who, string>;

/** A new pilot with a device and a reading, in a placement. */
async function freshPilot(place: Place) {
  const [co, testbedId, sharing] = PLACES[place];
  const tier =
    sharing === 'embargoed'
      ? { sharing: 'open' as const, openFrom: Date.parse('2099-01-01T00:00:00Z'), embargoSharing: 'research' as const }
      : { sharing: sharing as Sharing };
  const pilot = await api.registry.createPilot(SETUP.scope, { companyId: ids.company[co], testbedId, name: `${place} pilot`, ...tier });
  const { device } = await api.registry.createDevice(SETUP.scope, pilot.id, { profile: 'weather' });
  commandOf.set(device.id, (await api.registry.sendCommand(SETUP, device.id, { name: 'reboot', params: {}, ttlSeconds: 60 }))!.id);
  await api.store.write([
    { deviceId: device.id, pilotId: pilot.id, companyId: pilot.companyId, testbedId, profile: 'weather', time: T0 + 60_000, values: { temperature: 1.5 } },
  ]);
  const { webhook } = await api.registry.createWebhook(SETUP, { url: HOOK_URL, events: ['alert.opened'], pilotId: pilot.id });
  return { pilot: pilot.id, device: device.id, webhook: webhook.id };
}

/** A new key in a key placement. */
async function freshKey(place: KeyPlace): Promise<string> {
  const base = { readOnly: false, expiresAt: null };
  const grants = {
    coA: { role: 'company', companyId: ids.company.A, testbedIds: null },
    coB: { role: 'company', companyId: ids.company.B, testbedIds: null },
    opH: { role: 'operator', companyId: null, testbedIds: ['helsinki'] },
    opT: { role: 'operator', companyId: null, testbedIds: ['tampere'] },
    resH: { role: 'researcher', companyId: null, testbedIds: ['helsinki'], readOnly: true },
    resAll: { role: 'researcher', companyId: null, testbedIds: null, readOnly: true },
  } as const;
  return (await api.registry.createKey(SETUP, { ...base, ...grants[place] }, place)).apiKey.id;
}

const methodOf = (route: RouteCase) =>
  Object.entries(ROUTES)
    .find(([, r]) => r === route)?.[0]
    .split(' ')[0] as 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
const call = (who: Who, route: RouteCase, id: string) =>
  api.app.inject({
    method: methodOf(route),
    url: route.url(id),
    headers: who === 'anonymous' ? {} : bearer(keys[who]),
    ...(route.body ? { payload: route.body(who) } : {}),
  });

/** 403 for a role the route does not admit, or a read-only key on a route that changes something (401 without a key). */
const admitted = (who: Who, route: RouteCase) => route.roles.includes(ROLE[who]) || (route.scopes ?? []).some((s) => SCOPES[who]?.includes(s));
const forbidden = (who: Who, route: RouteCase) => !admitted(who, route) || (who === 'readOnlyA' && route.changes);
const refusal = (who: Who) => (who === 'anonymous' ? 401 : 403);

beforeAll(async () => {
  api = await openTestApi({ live: undefined });
  ids.company.A = (await api.registry.createCompany(SETUP.scope, 'A Oy')).id;
  ids.company.B = (await api.registry.createCompany(SETUP.scope, 'B Ab')).id;
  ids.company.C = (await api.registry.createCompany(SETUP.scope, 'C Oy, pilots made by the matrix')).id;
  const make = async (grant: object) =>
    (await api.registry.createKey(SETUP, { readOnly: false, expiresAt: null, companyId: null, testbedIds: null, role: 'company', ...grant }, null)).key;
  keys.admin = ADMIN;
  keys.operatorH = await make({ role: 'operator', testbedIds: ['helsinki'] });
  keys.operatorT = await make({ role: 'operator', testbedIds: ['tampere'] });
  keys.companyA = await make({ companyId: ids.company.A });
  keys.companyB = await make({ companyId: ids.company.B });
  keys.researcher = await make({ role: 'researcher', readOnly: true });
  keys.metricsR = await make({ role: 'researcher', readOnly: true, scopes: ['metrics'] });
  keys.readOnlyA = await make({ companyId: ids.company.A, readOnly: true });
  for (const place of Object.keys(PLACES) as Place[]) ids.pilot[place] = (await freshPilot(place)).pilot;
});
afterAll(async () => api?.close());

describe('isolation matrix: every route x every role x own, other and missing objects', () => {
  it('covers exactly the operations of the OpenAPI document, with the roles written here', async () => {
    const doc = (await api.app.inject({ url: '/openapi.json' })).json();
    const listed: Record<string, { roles: unknown; scopes: unknown; changes: unknown }> = {};
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Record<string, unknown>>>)) {
      for (const [method, op] of Object.entries(ops))
        if (path !== '/v1/health') listed[`${method.toUpperCase()} ${path}`] = { roles: op['x-roles'], scopes: op['x-scopes'], changes: op['x-changes'] };
    }
    expect(Object.keys(listed).sort()).toEqual(Object.keys(ROUTES).sort());
    for (const [name, route] of Object.entries(ROUTES))
      expect(listed[name], name).toEqual({ roles: route.roles, scopes: route.scopes, changes: route.changes });
  });

  it.each(Object.entries(ROUTES).filter(([, r]) => r.target === 'pilot' || r.target === 'device' || r.target === 'webhook'))('%s', async (name, route) => {
    for (const who of WHO) {
      const target = route.target as 'pilot' | 'device' | 'webhook';
      const missing = await call(who, route, MISSING[target]);
      for (const place of Object.keys(PLACES) as Place[]) {
        const fresh = await freshPilot(place);
        const res = await call(who, route, fresh[target]);
        const label = `${name} as ${who} on ${place}`;
        if (forbidden(who, route)) {
          expect(res.statusCode, label).toBe(refusal(who));
          expect(res.body, label).toBe(missing.body); // refused before any lookup: nothing learnt either
        } else if (SEES[who].includes(place)) {
          expect(res.statusCode, `${label}: ${res.body}`).toBe(route.ok);
        } else {
          expect(res.statusCode, label).toBe(404);
          expect(res.body, label).toBe(missing.body);
          expect(res.headers['content-length'], label).toBe(missing.headers['content-length']);
          expect(res.headers['content-type'], label).toBe(missing.headers['content-type']);
        }
      }
      expect(missing.statusCode, `${name} as ${who} on a missing id`).toBe(forbidden(who, route) ? refusal(who) : 404);
    }
  });

  it('DELETE /v1/keys/{keyId}: each key sees and revokes only the keys it manages', async () => {
    const route = ROUTES['DELETE /v1/keys/{keyId}'] as RouteCase;
    for (const who of WHO) {
      const missing = await call(who, route, MISSING.key);
      for (const place of KEYS) {
        const res = await call(who, route, await freshKey(place));
        const label = `as ${who} on a ${place} key`;
        if (forbidden(who, route)) expect(res.statusCode, label).toBe(refusal(who));
        else if (MANAGES[who].includes(place)) expect(res.statusCode, label).toBe(200);
        else {
          expect(res.statusCode, label).toBe(404);
          expect(res.body, label).toBe(missing.body);
        }
      }
    }
  });

  it.each(Object.entries(ROUTES).filter(([, r]) => r.target === 'export' || r.target === 'receipt'))('%s', async (name, route) => {
    // One finished export and one erased pilot's receipt per placement; these routes change nothing, so they are shared.
    const made = {} as Record<Place, string>;
    for (const place of Object.keys(PLACES) as Place[]) {
      const { pilot } = await freshPilot(place);
      if (route.target === 'export') made[place] = (await api.lifecycle.startExport(SETUP, pilot))!.id;
      else {
        const ended = (await api.registry.endPilot(SETUP.scope, pilot))!;
        made[place] = (await api.lifecycle.startErasure(SETUP, pilot, { confirm: ended.name }))!.receiptId!;
      }
    }
    await api.lifecycle.settled();
    for (const who of WHO) {
      const missing = await call(who, route, route.target === 'export' ? 'exp_aaaaaaaaaaaaaaaa' : 'rcpt_aaaaaaaaaaaaaaaa');
      for (const place of Object.keys(PLACES) as Place[]) {
        const res = await call(who, route, made[place]);
        const label = `${name} as ${who} on ${place}`;
        if (forbidden(who, route)) {
          expect(res.statusCode, label).toBe(refusal(who));
          expect(res.body, label).toBe(missing.body);
        } else if (SEES[who].includes(place)) expect(res.statusCode, `${label}: ${res.body}`).toBe(route.ok);
        else {
          expect(res.statusCode, label).toBe(404);
          expect(res.body, label).toBe(missing.body);
        }
      }
      expect(missing.statusCode, `${name} as ${who} on a missing id`).toBe(forbidden(who, route) ? refusal(who) : 404);
    }
  });

  it.each(Object.entries(ROUTES).filter(([, r]) => r.target === 'testbed'))(
    '%s: the admin everywhere, an operator only in its own testbeds',
    async (_, route) => {
      const operates: Partial<Record<Who, string[]>> = { admin: ['helsinki', 'tampere', 'espoo'], operatorH: ['helsinki'], operatorT: ['tampere'] };
      for (const who of WHO) {
        const missing = await call(who, route, 'atlantis');
        for (const testbed of ['helsinki', 'tampere', 'espoo']) {
          const res = await call(who, route, testbed);
          const label = `as ${who} on ${testbed}`;
          if (forbidden(who, route)) expect(res.statusCode, label).toBe(refusal(who));
          else if (operates[who]?.includes(testbed)) expect(res.statusCode, label).toBe(200);
          else {
            expect(res.statusCode, label).toBe(404);
            expect(res.body, label).toBe(missing.body);
          }
        }
      }
    },
  );

  it('DELETE /v1/alert-rules/{ruleId}: each key deletes only the rules it sees', async () => {
    const route = ROUTES['DELETE /v1/alert-rules/{ruleId}'] as RouteCase;
    // Rules in each placement: company A's and B's pilot rules, and operators' testbed rules.
    const fresh = {
      A_hel: async () =>
        (
          await api.registry.createAlertRule(
            { kind: 'company', companyId: ids.company.A },
            { condition: 'silent', holdSeconds: 0, testbedId: '', pilotId: ids.pilot.A_hel },
          )
        ).id,
      B_tam: async () =>
        (
          await api.registry.createAlertRule(
            { kind: 'company', companyId: ids.company.B },
            { condition: 'silent', holdSeconds: 0, testbedId: '', pilotId: ids.pilot.B_tam },
          )
        ).id,
      helsinki: async () =>
        (
          await api.registry.createAlertRule(
            { kind: 'testbeds', testbedIds: ['helsinki'] },
            { condition: 'queue_age', threshold: 1, holdSeconds: 0, testbedId: 'helsinki' },
          )
        ).id,
      tampere: async () =>
        (
          await api.registry.createAlertRule(
            { kind: 'testbeds', testbedIds: ['tampere'] },
            { condition: 'queue_age', threshold: 1, holdSeconds: 0, testbedId: 'tampere' },
          )
        ).id,
    };
    const SEES_RULE: Record<Who, (keyof typeof fresh)[]> = {
      admin: ['A_hel', 'B_tam', 'helsinki', 'tampere'],
      operatorH: ['A_hel', 'helsinki'],
      operatorT: ['B_tam', 'tampere'],
      companyA: ['A_hel'],
      companyB: ['B_tam'],
      researcher: [],
      metricsR: [],
      readOnlyA: ['A_hel'],
      anonymous: [],
    };
    for (const who of WHO) {
      const missing = await call(who, route, 'rule_aaaaaaaaaaaaaaaa');
      for (const place of Object.keys(fresh) as (keyof typeof fresh)[]) {
        const res = await call(who, route, await fresh[place]());
        const label = `as ${who} on a ${place} rule`;
        if (forbidden(who, route)) expect(res.statusCode, label).toBe(refusal(who));
        else if (SEES_RULE[who].includes(place)) expect(res.statusCode, label).toBe(200);
        else {
          expect(res.statusCode, label).toBe(404);
          expect(res.body, label).toBe(missing.body);
        }
      }
    }
  });

  it('the fleet view lists exactly the devices each key may see', async () => {
    const made = Object.fromEntries(await Promise.all((Object.keys(PLACES) as Place[]).map(async (p) => [p, await freshPilot(p)] as const))) as Record<
      Place,
      { pilot: string; device: string; webhook: string }
    >;
    for (const who of WHO) {
      if (who === 'anonymous') {
        expect((await api.app.inject({ url: '/v1/devices' })).statusCode, 'the fleet view without a key').toBe(401);
        continue;
      }
      const listed = ((await api.app.inject({ url: '/v1/devices?limit=10000', headers: bearer(keys[who]) })).json().devices as { id: string }[]).map(
        (d) => d.id,
      );
      for (const place of Object.keys(PLACES) as Place[])
        expect(listed.includes(made[place].device), `${who} lists the ${place} device`).toBe(SEES[who].includes(place));
    }
  });

  it('POST /v1/companies/{companyId}/keys: the admin only', async () => {
    const route = ROUTES['POST /v1/companies/{companyId}/keys'] as RouteCase;
    for (const who of WHO) {
      for (const id of [ids.company.A, ids.company.B]) expect((await call(who, route, id)).statusCode, who).toBe(who === 'admin' ? 201 : refusal(who));
      expect((await call(who, route, MISSING.company)).statusCode).toBe(who === 'admin' ? 404 : refusal(who));
    }
  });

  it.each(Object.entries(ROUTES).filter(([, r]) => r.target === 'none'))('%s', async (name, route) => {
    for (const who of WHO) {
      const res = await call(who, route, '');
      expect(res.statusCode, `${name} as ${who}: ${res.body}`).toBe(forbidden(who, route) ? refusal(who) : route.ok);
    }
  });

  it('GET /v1/me names, for each key, exactly the operations this matrix expects it may call', async () => {
    for (const who of WHO) {
      if (who === 'anonymous') continue; // 401, checked with the other routes
      const me = (await api.app.inject({ url: '/v1/me', headers: bearer(keys[who]) })).json() as { role: string; operations: string[] };
      expect(me.role, who).toBe(ROLE[who]);
      const expected = Object.keys(ROUTES).filter((name) => !forbidden(who, ROUTES[name] as RouteCase));
      // The SensorThings and metrics routes sit outside /v1; /v1/me speaks for /v1 only.
      expect(me.operations, who).toEqual(expected.filter((name) => name.includes(' /v1/')).sort());
    }
  });

  it('lists hold exactly what each key may see: pilots, devices, companies, keys', async () => {
    const made = Object.fromEntries(await Promise.all((Object.keys(PLACES) as Place[]).map(async (p) => [p, await freshPilot(p)] as const))) as Record<
      Place,
      { pilot: string; device: string; webhook: string }
    >;
    const madeKeys = Object.fromEntries(await Promise.all(KEYS.map(async (k) => [k, await freshKey(k)] as const))) as Record<KeyPlace, string>;
    const headers = (who: Who) => (who === 'anonymous' ? {} : bearer(keys[who]));
    for (const who of WHO) {
      const pilots = ((await api.app.inject({ url: '/v1/pilots', headers: headers(who) })).json().pilots as { id: string; companyId: string }[]).map(
        (p) => p.id,
      );
      for (const place of Object.keys(PLACES) as Place[])
        expect(pilots.includes(made[place].pilot), `${who} lists the ${place} pilot`).toBe(SEES[who].includes(place));
      const open = ((await api.app.inject({ url: '/v1/pilots?sharing=open', headers: headers(who) })).json().pilots as { id: string }[]).map((p) => p.id);
      for (const place of Object.keys(PLACES) as Place[])
        expect(open.includes(made[place].pilot), `${who} lists the ${place} pilot as open`).toBe(SEES.anonymous.includes(place));
      if (who === 'anonymous') continue; // companies and keys are behind a key (401, checked above)
      const companies = ((await api.app.inject({ url: '/v1/companies', headers: bearer(keys[who]) })).json().companies as { id: string }[]).map((c) => c.id);
      const seenCompanies = new Set(SEES[who].map((p) => ids.company[PLACES[p][0]]));
      for (const id of [ids.company.A, ids.company.B]) expect(companies.includes(id), `${who} lists company ${id}`).toBe(seenCompanies.has(id));
      if (!forbidden(who, ROUTES['GET /v1/webhooks'] as RouteCase)) {
        const hooks = ((await api.app.inject({ url: '/v1/webhooks', headers: bearer(keys[who]) })).json().webhooks as { id: string }[]).map((w) => w.id);
        for (const place of Object.keys(PLACES) as Place[])
          expect(hooks.includes(made[place].webhook), `${who} lists the ${place} webhook`).toBe(SEES[who].includes(place));
      }
      if (!forbidden(who, ROUTES['GET /v1/keys'] as RouteCase)) {
        const listed = ((await api.app.inject({ url: '/v1/keys', headers: bearer(keys[who]) })).json().keys as { id: string }[]).map((k) => k.id);
        for (const k of KEYS) expect(listed.includes(madeKeys[k]), `${who} lists the ${k} key`).toBe(MANAGES[who].includes(k));
      }
    }
  });

  it('the metrics scope: granted by admin and operator keys, never held by a company key, shown in GET /v1/keys and /v1/me', async () => {
    const mint = (who: Who, body: object) => api.app.inject({ method: 'POST', url: '/v1/keys', headers: bearer(keys[who]), payload: body });
    const researcherOf = (who: Who) => ({ role: 'researcher', scopes: ['metrics'], testbedIds: [who === 'operatorT' ? 'tampere' : 'helsinki'] });
    for (const who of WHO) {
      if (who === 'anonymous') continue;
      const res = await mint(who, researcherOf(who));
      const label = `${who} mints a metrics-scope researcher key: ${res.body}`;
      if (who === 'admin' || who === 'operatorH' || who === 'operatorT') {
        expect(res.statusCode, label).toBe(201);
        const made = res.json() as { id: string; key: string; scopes: string[] };
        expect(made.scopes, label).toEqual(['metrics']);
        const listed = (await api.app.inject({ url: '/v1/keys', headers: bearer(keys[who]) })).json().keys as { id: string; scopes: string[] }[];
        expect(listed.find((k) => k.id === made.id)?.scopes, label).toEqual(['metrics']);
        const me = (await api.app.inject({ url: '/v1/me', headers: bearer(made.key) })).json() as { scopes: string[]; readOnly: boolean };
        expect(me, label).toMatchObject({ scopes: ['metrics'], readOnly: true });
        const scraped = await api.app.inject({ url: '/metrics', headers: bearer(made.key) });
        expect(scraped.statusCode, label).toBe(ROUTES['GET /metrics']!.ok);
      } else expect(res.statusCode, label).toBe(403);
      // A company key with the scope is refused to everyone, the admin included: the metrics are gateway-wide.
      const company = await mint(who, { role: 'company', companyId: ids.company.A, scopes: ['metrics'] });
      expect(company.statusCode, `${who} mints a metrics-scope company key`).toBe(forbidden(who, ROUTES['POST /v1/keys']!) ? 403 : 400);
    }
    const plain = (await api.app.inject({ url: '/v1/me', headers: bearer(keys.companyA) })).json() as { scopes: string[] };
    expect(plain.scopes).toEqual([]);
  });

  it("the audit log shows an operator only its own testbeds' entries, and a company none", async () => {
    const mine = await freshPilot('A_hel');
    const theirs = await freshPilot('B_tam');
    await api.app.inject({ url: `/v1/pilots/${mine.pilot}`, headers: bearer(keys.companyA) });
    await api.app.inject({ url: `/v1/pilots/${theirs.pilot}`, headers: bearer(keys.companyB) });
    const entries = async (who: Who) =>
      (await api.app.inject({ url: '/v1/audit?limit=10000', headers: bearer(keys[who]) })).json().entries as {
        pilotId: string | null;
        testbedId: string | null;
      }[];
    const admin = await entries('admin');
    expect(admin.some((e) => e.pilotId === mine.pilot)).toBe(true);
    expect(admin.some((e) => e.pilotId === theirs.pilot)).toBe(true);
    const helsinki = await entries('operatorH');
    expect(helsinki.some((e) => e.pilotId === mine.pilot)).toBe(true);
    expect(helsinki.every((e) => e.testbedId === 'helsinki')).toBe(true);
    const tampere = await entries('operatorT');
    expect(tampere.some((e) => e.pilotId === theirs.pilot)).toBe(true);
    expect(tampere.every((e) => e.testbedId === 'tampere')).toBe(true);
    expect((await api.app.inject({ url: '/v1/audit', headers: bearer(keys.companyA) })).statusCode).toBe(403);
  });
});

describe('isolation matrix: SensorThings entity sets x every role and anonymous x own, other and missing objects', () => {
  // Anonymous callers see open pilots only (B_tam); every key as in SEES.
  // metricsR is left out: it is the researcher key plus a scope that opens only GET /metrics (checked above).
  const STA_WHO = [...WHO.filter((w) => w !== 'metricsR'), 'anonymous'] as const;
  const seesSta = (who: (typeof STA_WHO)[number], place: Place) => (who === 'anonymous' ? place === 'B_tam' : SEES[who].includes(place));
  // Requests without a key are limited per client address; each anonymous request here comes from an address of its own.
  let anonymousClient = 0;
  const staGet = (who: (typeof STA_WHO)[number], path: string) =>
    who === 'anonymous'
      ? api.app.inject({ url: `/sta/v1.1${path}`, remoteAddress: `127.1.${(++anonymousClient >> 8) & 255}.${anonymousClient & 255}` })
      : api.app.inject({ url: `/sta/v1.1${path}`, headers: bearer(keys[who]) });
  const BY_ID: Record<string, (device: string) => string> = {
    Thing: (d) => `/Things('${d}')`,
    'Thing/Datastreams': (d) => `/Things('${d}')/Datastreams`,
    Datastream: (d) => `/Datastreams('${d}~temperature')`,
    'Datastream/Observations': (d) => `/Datastreams('${d}~temperature')/Observations`,
    'Datastream/Sensor': (d) => `/Datastreams('${d}~temperature')/Sensor`,
    Observation: (d) => `/Observations('${d}~temperature~${T0 + 60_000}')`,
    'Observation/Datastream/Thing': (d) => `/Observations('${d}~temperature~${T0 + 60_000}')/Datastream/Thing`,
    FeatureOfInterest: (d) => `/FeaturesOfInterest('${d}')`,
  };
  const SETS = ['Things?$expand=Datastreams', 'Datastreams?$expand=Observations,Thing', 'Observations?$top=1000&$expand=Datastream', 'FeaturesOfInterest'];

  it.each(Object.entries(BY_ID))('%s by id: visible ones answer 200, the rest exactly as a missing one', async (name, url) => {
    for (const who of STA_WHO) {
      const missing = await staGet(who, url('dev_aaaaaaaaaaaaaaaa'));
      expect(missing.statusCode, `${name} as ${who} on a missing id`).toBe(404);
      for (const place of Object.keys(PLACES) as Place[]) {
        const fresh = await freshPilot(place);
        const res = await staGet(who, url(fresh.device));
        const label = `${name} as ${who} on ${place}`;
        if (seesSta(who, place)) expect(res.statusCode, `${label}: ${res.body}`).toBe(200);
        else {
          expect(res.statusCode, label).toBe(404);
          expect(res.body, label).toBe(missing.body);
        }
      }
    }
  });

  it('entity sets, with $expand, list exactly what each caller may see', async () => {
    const made = Object.fromEntries(await Promise.all((Object.keys(PLACES) as Place[]).map(async (p) => [p, await freshPilot(p)] as const))) as Record<
      Place,
      { pilot: string; device: string; webhook: string }
    >;
    for (const who of STA_WHO) {
      for (const set of SETS) {
        // Every page, by @iot.nextLink to the end (pages of the largest size the service allows).
        let body = '';
        for (let url: string | undefined = `/${set}?$top=1000`; url;) {
          const res = await staGet(who, url);
          expect(res.statusCode, `${set} as ${who}`).toBe(200);
          body += res.body;
          url = (res.json()['@iot.nextLink'] as string | undefined)?.replace(/^http:\/\/[^/]+\/sta\/v1\.1/, '');
        }
        for (const place of Object.keys(PLACES) as Place[]) {
          expect(body.includes(made[place].device), `${set} as ${who} shows the ${place} device`).toBe(seesSta(who, place));
        }
      }
    }
  }, 240_000);
});
