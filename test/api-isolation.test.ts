import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role, Sharing } from '../core/model.js';
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
  webhook: 'wh_aaaaaaaaaaaaaaaa',
};
/** A public address, so no name is resolved and no allow-list is needed. */
const HOOK_URL = 'https://93.184.216.34/hook';

type Who = 'admin' | 'operatorH' | 'operatorT' | 'companyA' | 'companyB' | 'researcher' | 'readOnlyA';
const WHO: Who[] = ['admin', 'operatorH', 'operatorT', 'companyA', 'companyB', 'researcher', 'readOnlyA'];
const ROLE: Record<Who, Role> = {
  admin: 'admin',
  operatorH: 'operator',
  operatorT: 'operator',
  companyA: 'company',
  companyB: 'company',
  researcher: 'researcher',
  readOnlyA: 'company',
};

/** Where pilots are placed: company, testbed, sharing. */
const PLACES = {
  A_hel: ['A', 'helsinki', 'private'],
  A_esp: ['A', 'espoo', 'research'],
  B_hel: ['B', 'helsinki', 'private'],
  B_tam: ['B', 'tampere', 'open'],
} as const;
type Place = keyof typeof PLACES;
const SEES: Record<Who, Place[]> = {
  admin: ['A_hel', 'A_esp', 'B_hel', 'B_tam'],
  operatorH: ['A_hel', 'B_hel'],
  operatorT: ['B_tam'],
  companyA: ['A_hel', 'A_esp'],
  companyB: ['B_hel', 'B_tam'],
  researcher: ['A_esp', 'B_tam'],
  readOnlyA: ['A_hel', 'A_esp'],
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
  readOnlyA: ['coA'],
};

const ANY: Role[] = ['admin', 'operator', 'company', 'researcher'];
const MANAGERS: Role[] = ['admin', 'operator', 'company'];

interface RouteCase {
  readonly roles: Role[];
  readonly changes: boolean;
  readonly target: 'pilot' | 'device' | 'webhook' | 'key' | 'company' | 'none';
  readonly ok: number;
  readonly url: (id: string) => string;
  readonly body?: (who: Who) => object;
}

const agg = `from=${T0}&to=${T0 + HOUR}&every=15m&fn=mean`;
const ROUTES: Record<string, RouteCase> = {
  'GET /v1/testbeds': { roles: ANY, changes: false, target: 'none', ok: 200, url: () => '/v1/testbeds' },
  'GET /v1/profiles': { roles: ANY, changes: false, target: 'none', ok: 200, url: () => '/v1/profiles' },
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
  'GET /v1/pilots': { roles: ANY, changes: false, target: 'none', ok: 200, url: () => '/v1/pilots' },
  'GET /v1/pilots/{pilotId}': { roles: ANY, changes: false, target: 'pilot', ok: 200, url: (id) => `/v1/pilots/${id}` },
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
  'GET /v1/pilots/{pilotId}/devices': { roles: ANY, changes: false, target: 'pilot', ok: 200, url: (id) => `/v1/pilots/${id}/devices` },
  'POST /v1/pilots/{pilotId}/devices/bulk': {
    roles: MANAGERS,
    changes: true,
    target: 'pilot',
    ok: 201,
    url: (id) => `/v1/pilots/${id}/devices/bulk`,
    body: () => ({ devices: [{ profile: 'noise' }, { profile: 'weather' }] }),
  },
  'GET /v1/pilots/{pilotId}/readings': { roles: ANY, changes: false, target: 'pilot', ok: 200, url: (id) => `/v1/pilots/${id}/readings` },
  'GET /v1/pilots/{pilotId}/aggregates': { roles: ANY, changes: false, target: 'pilot', ok: 200, url: (id) => `/v1/pilots/${id}/aggregates?${agg}` },
  'GET /v1/pilots/{pilotId}/latest': { roles: ANY, changes: false, target: 'pilot', ok: 200, url: (id) => `/v1/pilots/${id}/latest` },
  // This app has no live feed, so a visible pilot answers 503 where an invisible one answers 404 (streams: test/api-live.test.ts).
  'GET /v1/pilots/{pilotId}/live': { roles: ANY, changes: false, target: 'pilot', ok: 503, url: (id) => `/v1/pilots/${id}/live` },
  'GET /v1/devices/{deviceId}': { roles: ANY, changes: false, target: 'device', ok: 200, url: (id) => `/v1/devices/${id}` },
  'POST /v1/devices/{deviceId}/rotate-secret': { roles: MANAGERS, changes: true, target: 'device', ok: 200, url: (id) => `/v1/devices/${id}/rotate-secret` },
  'POST /v1/devices/{deviceId}/revoke': { roles: MANAGERS, changes: true, target: 'device', ok: 200, url: (id) => `/v1/devices/${id}/revoke` },
  'GET /v1/devices/{deviceId}/readings': { roles: ANY, changes: false, target: 'device', ok: 200, url: (id) => `/v1/devices/${id}/readings` },
  'GET /v1/devices/{deviceId}/aggregates': { roles: ANY, changes: false, target: 'device', ok: 200, url: (id) => `/v1/devices/${id}/aggregates?${agg}` },
  'GET /v1/devices/{deviceId}/rejections': { roles: MANAGERS, changes: false, target: 'device', ok: 200, url: (id) => `/v1/devices/${id}/rejections` },
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
  'GET /metrics': { roles: ['admin', 'operator'], changes: false, target: 'none', ok: 503, url: () => '/metrics' },
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
const ids = { company: { A: '', B: '', C: '' } };
const keys = {} as Record<Who, string>;

/** A new pilot with a device and a reading, in a placement. */
async function freshPilot(place: Place) {
  const [co, testbedId, sharing] = PLACES[place];
  const pilot = api.registry.createPilot(SETUP.scope, { companyId: ids.company[co], testbedId, name: `${place} pilot`, sharing: sharing as Sharing });
  const { device } = api.registry.createDevice(SETUP.scope, pilot.id, { profile: 'weather' });
  await api.store.write([
    { deviceId: device.id, pilotId: pilot.id, companyId: pilot.companyId, testbedId, profile: 'weather', time: T0 + 60_000, values: { temperature: 1.5 } },
  ]);
  const { webhook } = api.registry.createWebhook(SETUP, { url: HOOK_URL, events: ['alert.opened'], pilotId: pilot.id });
  return { pilot: pilot.id, device: device.id, webhook: webhook.id };
}

/** A new key in a key placement. */
function freshKey(place: KeyPlace): string {
  const base = { readOnly: false, expiresAt: null };
  const grants = {
    coA: { role: 'company', companyId: ids.company.A, testbedIds: null },
    coB: { role: 'company', companyId: ids.company.B, testbedIds: null },
    opH: { role: 'operator', companyId: null, testbedIds: ['helsinki'] },
    opT: { role: 'operator', companyId: null, testbedIds: ['tampere'] },
    resH: { role: 'researcher', companyId: null, testbedIds: ['helsinki'], readOnly: true },
    resAll: { role: 'researcher', companyId: null, testbedIds: null, readOnly: true },
  } as const;
  return api.registry.createKey(SETUP, { ...base, ...grants[place] }, place).apiKey.id;
}

const methodOf = (route: RouteCase) =>
  Object.entries(ROUTES)
    .find(([, r]) => r === route)?.[0]
    .split(' ')[0] as 'GET' | 'POST' | 'PATCH' | 'DELETE';
const call = (who: Who, route: RouteCase, id: string) =>
  api.app.inject({
    method: methodOf(route),
    url: route.url(id),
    headers: bearer(keys[who]),
    ...(route.body ? { payload: route.body(who) } : {}),
  });

/** 403 for a role the route does not admit, or a read-only key on a route that changes something. */
const forbidden = (who: Who, route: RouteCase) => !route.roles.includes(ROLE[who]) || (who === 'readOnlyA' && route.changes);

beforeAll(async () => {
  api = await openTestApi({ live: undefined });
  ids.company.A = api.registry.createCompany(SETUP.scope, 'A Oy').id;
  ids.company.B = api.registry.createCompany(SETUP.scope, 'B Ab').id;
  ids.company.C = api.registry.createCompany(SETUP.scope, 'C Oy, pilots made by the matrix').id;
  const make = (grant: object) =>
    api.registry.createKey(SETUP, { readOnly: false, expiresAt: null, companyId: null, testbedIds: null, role: 'company', ...grant }, null).key;
  keys.admin = ADMIN;
  keys.operatorH = make({ role: 'operator', testbedIds: ['helsinki'] });
  keys.operatorT = make({ role: 'operator', testbedIds: ['tampere'] });
  keys.companyA = make({ companyId: ids.company.A });
  keys.companyB = make({ companyId: ids.company.B });
  keys.researcher = make({ role: 'researcher', readOnly: true });
  keys.readOnlyA = make({ companyId: ids.company.A, readOnly: true });
  for (const place of Object.keys(PLACES) as Place[]) await freshPilot(place);
});
afterAll(async () => api?.close());

describe('isolation matrix: every route x every role x own, other and missing objects', () => {
  it('covers exactly the operations of the OpenAPI document, with the roles written here', async () => {
    const doc = (await api.app.inject({ url: '/openapi.json' })).json();
    const listed: Record<string, { roles: unknown; changes: unknown }> = {};
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Record<string, unknown>>>)) {
      for (const [method, op] of Object.entries(ops))
        if (path !== '/v1/health') listed[`${method.toUpperCase()} ${path}`] = { roles: op['x-roles'], changes: op['x-changes'] };
    }
    expect(Object.keys(listed).sort()).toEqual(Object.keys(ROUTES).sort());
    for (const [name, route] of Object.entries(ROUTES)) expect(listed[name], name).toEqual({ roles: route.roles, changes: route.changes });
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
          expect(res.statusCode, label).toBe(403);
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
      expect(missing.statusCode, `${name} as ${who} on a missing id`).toBe(forbidden(who, route) ? 403 : 404);
    }
  });

  it('DELETE /v1/keys/{keyId}: each key sees and revokes only the keys it manages', async () => {
    const route = ROUTES['DELETE /v1/keys/{keyId}'] as RouteCase;
    for (const who of WHO) {
      const missing = await call(who, route, MISSING.key);
      for (const place of KEYS) {
        const res = await call(who, route, freshKey(place));
        const label = `as ${who} on a ${place} key`;
        if (forbidden(who, route)) expect(res.statusCode, label).toBe(403);
        else if (MANAGES[who].includes(place)) expect(res.statusCode, label).toBe(200);
        else {
          expect(res.statusCode, label).toBe(404);
          expect(res.body, label).toBe(missing.body);
        }
      }
    }
  });

  it('POST /v1/companies/{companyId}/keys: the admin only', async () => {
    const route = ROUTES['POST /v1/companies/{companyId}/keys'] as RouteCase;
    for (const who of WHO) {
      for (const id of [ids.company.A, ids.company.B]) expect((await call(who, route, id)).statusCode, who).toBe(who === 'admin' ? 201 : 403);
      expect((await call(who, route, MISSING.company)).statusCode).toBe(who === 'admin' ? 404 : 403);
    }
  });

  it.each(Object.entries(ROUTES).filter(([, r]) => r.target === 'none'))('%s', async (name, route) => {
    for (const who of WHO) {
      const res = await call(who, route, '');
      expect(res.statusCode, `${name} as ${who}: ${res.body}`).toBe(forbidden(who, route) ? 403 : route.ok);
    }
  });

  it('lists hold exactly what each key may see: pilots, devices, companies, keys', async () => {
    const made = Object.fromEntries(await Promise.all((Object.keys(PLACES) as Place[]).map(async (p) => [p, await freshPilot(p)] as const))) as Record<
      Place,
      { pilot: string; device: string; webhook: string }
    >;
    const madeKeys = Object.fromEntries(KEYS.map((k) => [k, freshKey(k)])) as Record<KeyPlace, string>;
    for (const who of WHO) {
      const pilots = ((await api.app.inject({ url: '/v1/pilots', headers: bearer(keys[who]) })).json().pilots as { id: string; companyId: string }[]).map(
        (p) => p.id,
      );
      for (const place of Object.keys(PLACES) as Place[])
        expect(pilots.includes(made[place].pilot), `${who} lists the ${place} pilot`).toBe(SEES[who].includes(place));
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
