import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, scopeAdmits, type KeyGrant, type Role, type Scope } from '../core/model.js';
import { grantProblems, mayManage, refuseGrant, scopeOf } from '../registry/key-policy.js';
import { MIGRATIONS } from '../registry/migrations.js';
import { Registry } from '../registry/registry.js';
import { hashSecret } from '../core/secrets.js';
import { REGISTRY_DATABASES, registryHost } from './helpers/registries.js';
import { tempDir } from './helpers/tmp.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';
import { CREDENTIAL_BATCH } from '../registry/devices.js';

const grant = (role: Role, extra: Partial<KeyGrant> = {}): KeyGrant => ({
  role,
  companyId: null,
  testbedIds: null,
  readOnly: role === 'researcher',
  expiresAt: null,
  ...extra,
});
const ADMIN = grant('admin');
const OP_HEL = grant('operator', { testbedIds: ['helsinki'] });
const OP_HEL_ESP = grant('operator', { testbedIds: ['helsinki', 'espoo'] });
const CO_A = grant('company', { companyId: 'co_a' });
const CO_B = grant('company', { companyId: 'co_b' });
const RES = grant('researcher');
const RES_HEL = grant('researcher', { testbedIds: ['helsinki'] });
const ALL_GRANTS = { ADMIN, OP_HEL, OP_HEL_ESP, CO_A, CO_B, RES, RES_HEL };

describe('key policy (pure)', () => {
  it.each([
    [grant('admin', { companyId: 'co_a' }), 'no companyId'],
    [grant('operator'), 'needs testbedIds'],
    [grant('operator', { testbedIds: [] }), 'needs testbedIds'],
    [grant('company'), 'needs a companyId'],
    [grant('company', { companyId: 'co_a', testbedIds: ['oulu'] }), 'no testbedIds'],
    [grant('researcher', { readOnly: false }), 'always read-only'],
    [grant('researcher', { companyId: 'co_a' }), 'no companyId'],
    [grant('company', { companyId: 'co_a', scopes: ['metrics'] }), 'may not have the metrics scope'],
  ])('refuses the shape %j', (g, problem) => {
    expect(grantProblems(g).join(';')).toContain(problem);
  });

  it('accepts every well-formed grant', () => {
    for (const g of Object.values(ALL_GRANTS)) expect(grantProblems(g)).toEqual([]);
  });

  // holder -> the grants (of ALL_GRANTS) it may manage and create
  const manages: Record<keyof typeof ALL_GRANTS, (keyof typeof ALL_GRANTS)[]> = {
    ADMIN: ['ADMIN', 'OP_HEL', 'OP_HEL_ESP', 'CO_A', 'CO_B', 'RES', 'RES_HEL'],
    OP_HEL: ['OP_HEL', 'RES_HEL'],
    OP_HEL_ESP: ['OP_HEL', 'OP_HEL_ESP', 'RES_HEL'],
    CO_A: ['CO_A'],
    CO_B: ['CO_B'],
    RES: [],
    RES_HEL: [],
  };
  it.each(Object.entries(manages))('%s manages and creates exactly %j', (holder, expected) => {
    const h = ALL_GRANTS[holder as keyof typeof ALL_GRANTS];
    for (const [name, g] of Object.entries(ALL_GRANTS)) {
      expect(mayManage(h, g), `${holder} manages ${name}`).toBe(expected.includes(name as keyof typeof ALL_GRANTS));
      expect(refuseGrant(h, g) === undefined, `${holder} creates ${name}`).toBe(expected.includes(name as keyof typeof ALL_GRANTS));
    }
  });

  it('lets only keys that read the metrics grant the metrics scope', () => {
    const wanted = { ...RES_HEL, scopes: ['metrics'] as const };
    expect(grantProblems(wanted)).toEqual([]);
    expect(refuseGrant(ADMIN, wanted)).toBeUndefined();
    expect(refuseGrant(OP_HEL, wanted)).toBeUndefined();
    expect(refuseGrant(OP_HEL, { ...OP_HEL, scopes: ['metrics'] })).toBeUndefined();
    expect(refuseGrant(CO_A, { ...CO_A, scopes: ['metrics'] })).toMatch(/metrics scope/);
    expect(refuseGrant(RES, wanted)).toBeDefined();
  });

  it('never lets a key outlive its creator, nor a read-only key create one', () => {
    const expiring = { ...CO_A, expiresAt: 2000 };
    expect(refuseGrant(expiring, CO_A)).toMatch(/expire no later/);
    expect(refuseGrant(expiring, { ...CO_A, expiresAt: 3000 })).toMatch(/expire no later/);
    expect(refuseGrant(expiring, { ...CO_A, expiresAt: 2000 })).toBeUndefined();
    expect(refuseGrant({ ...ADMIN, readOnly: true }, CO_A)).toMatch(/read-only/);
  });

  it("resolves every role to its scope kind, a researcher's to the shared pilots of its testbeds", () => {
    const shared = (t: readonly string[] | null) => (t === null ? ['p1', 'p2'] : ['p1']);
    expect(scopeOf(ADMIN, shared)).toEqual({ kind: 'all' });
    expect(scopeOf(OP_HEL_ESP, shared)).toEqual({ kind: 'testbeds', testbedIds: ['helsinki', 'espoo'] });
    expect(scopeOf(CO_A, shared)).toEqual({ kind: 'company', companyId: 'co_a' });
    expect(scopeOf(RES, shared)).toEqual({ kind: 'research', pilotIds: ['p1', 'p2'] });
    expect(scopeOf(RES_HEL, shared)).toEqual({ kind: 'research', pilotIds: ['p1'] });
    for (const role of ROLES)
      expect(scopeOf(grant(role, { companyId: role === 'company' ? 'c' : null, testbedIds: role === 'operator' ? ['x'] : null }), shared)).toBeDefined();
  });

  it('scopeAdmits: each kind admits exactly its objects', () => {
    const at = { companyId: 'co_a', testbedId: 'helsinki', pilotId: 'p1' };
    const cases: [Scope, boolean][] = [
      [{ kind: 'all' }, true],
      [{ kind: 'company', companyId: 'co_a' }, true],
      [{ kind: 'company', companyId: 'co_b' }, false],
      [{ kind: 'testbeds', testbedIds: ['espoo', 'helsinki'] }, true],
      [{ kind: 'testbeds', testbedIds: [] }, false],
      [{ kind: 'research', pilotIds: ['p1'] }, true],
      [{ kind: 'research', pilotIds: ['p2'] }, false],
    ];
    for (const [scope, admits] of cases) expect(scopeAdmits(scope, at), JSON.stringify(scope)).toBe(admits);
  });
});

describe.each(REGISTRY_DATABASES)('registry on %s: keys, scopes, pilots and devices', (database) => {
  const tmp = tempDir();
  const host = registryHost(database);
  let now = Date.parse('2025-06-01T00:00:00Z');
  let registry: Registry;
  beforeAll(async () => {
    registry = await host.open(tmp.dir, 'registry-admin-token-0123', { now: () => now });
  });
  afterAll(async () => {
    await registry.close();
    await host.close();
    tmp.remove();
  });

  it('authenticates a key until it is revoked or expires, at once', async () => {
    const co = await registry.createCompany(SETUP.scope, 'Keyed Oy');
    const admin = (await registry.authenticateKey('registry-admin-token-0123'))!;
    const { key, apiKey } = await registry.createKey(admin, { ...CO_A, companyId: co.id, expiresAt: now + 60_000 }, 'k');
    expect(apiKey).toMatchObject({ role: 'company', companyId: co.id, expiresAt: new Date(now + 60_000).toISOString(), revokedAt: null, createdBy: 'admin' });
    expect((await registry.authenticateKey(key))?.keyId).toBe(apiKey.id);
    now += 60_000;
    expect(await registry.authenticateKey(key)).toBeUndefined();
    expect(await registry.recheckKey(apiKey.id)).toBeUndefined();
    now -= 60_000;
    const other = await registry.createKey(SETUP, { ...CO_A, companyId: co.id }, null);
    expect(other.apiKey.createdBy).toBeNull();
    expect((await registry.recheckKey(other.apiKey.id))?.scope).toEqual({ kind: 'company', companyId: co.id });
    expect(await registry.revokeKey(grant('company', { companyId: 'co_other' }), other.apiKey.id)).toBeUndefined();
    expect((await registry.revokeKey({ ...CO_A, companyId: co.id }, other.apiKey.id))?.revokedAt).toBe(new Date(now).toISOString());
    expect(await registry.authenticateKey(other.key)).toBeUndefined();
  });

  it('honours every scope kind on pilots, devices and companies', async () => {
    const a = await registry.createCompany(SETUP.scope, 'Scope A');
    const b = await registry.createCompany(SETUP.scope, 'Scope B');
    const pa = await registry.createPilot(SETUP.scope, { companyId: a.id, testbedId: 'oulu', name: 'pa', sharing: 'research' });
    const pb = await registry.createPilot(SETUP.scope, { companyId: b.id, testbedId: 'turku', name: 'pb' });
    const da = (await registry.createDevice(SETUP.scope, pa.id, { profile: 'noise' })).device;
    const db = (await registry.createDevice(SETUP.scope, pb.id, { profile: 'noise' })).device;
    // A researcher's scope as its key resolves it: the pilots shared when the request comes.
    const researcherScope = async (g: KeyGrant): Promise<Scope> => (await registry.authenticateKey((await registry.createKey(SETUP, g, null)).key))!.scope;
    const cases: [string, Scope, boolean, boolean][] = [
      ['all', { kind: 'all' }, true, true],
      ['company a', { kind: 'company', companyId: a.id }, true, false],
      ['operator of oulu', { kind: 'testbeds', testbedIds: ['oulu'] }, true, false],
      ['operator of turku and oulu', { kind: 'testbeds', testbedIds: ['turku', 'oulu'] }, true, true],
      ['operator of nothing', { kind: 'testbeds', testbedIds: [] }, false, false],
      ['researcher', await researcherScope(RES), true, false],
      ['researcher in turku', await researcherScope({ ...RES_HEL, testbedIds: ['turku'] }), false, false],
    ];
    for (const [name, scope, seesA, seesB] of cases) {
      expect(!!(await registry.getPilot(scope, pa.id)), `${name}: pilot a`).toBe(seesA);
      expect(!!(await registry.getPilot(scope, pb.id)), `${name}: pilot b`).toBe(seesB);
      expect(!!(await registry.getDevice(scope, da.id)), `${name}: device a`).toBe(seesA);
      expect(!!(await registry.getDevice(scope, db.id)), `${name}: device b`).toBe(seesB);
      expect((await registry.listDevices(scope, pa.id)).length, `${name}: devices of a`).toBe(seesA ? 1 : 0);
      expect(
        (await registry.listPilots(scope)).some((p) => p.id === pb.id),
        `${name}: lists pilot b`,
      ).toBe(seesB);
      expect(
        (await registry.listCompanies(scope)).some((c) => c.id === a.id),
        `${name}: lists company a`,
      ).toBe(seesA);
      expect(!!(await registry.getCompany(scope, b.id)), `${name}: company b`).toBe(seesB);
      expect((await registry.updatePilot(scope, pb.id, { name: 'x' })) !== undefined, `${name}: updates b`).toBe(seesB);
    }
  });

  it('rotates and revokes device secrets, and ending a pilot closes its window', async () => {
    const co = await registry.createCompany(SETUP.scope, 'Devices Oy');
    const pilot = await registry.createPilot(SETUP.scope, { companyId: co.id, testbedId: 'espoo', name: 'p' });
    const scope: Scope = { kind: 'company', companyId: co.id };
    const { device, password } = await registry.createDevice(SETUP.scope, pilot.id, { profile: 'noise' });
    const rotated = (await registry.rotateDevice(scope, device.id))!;
    expect(await registry.authenticateDevice(device.username, Buffer.from(password))).toBeUndefined();
    expect((await registry.authenticateDevice(device.username, Buffer.from(rotated.password)))?.deviceId).toBe(device.id);
    expect(rotated.device.secretRotatedAt).toBe(new Date(now).toISOString());
    expect(await registry.rotateDevice({ kind: 'company', companyId: 'co_other' }, device.id)).toBeUndefined();
    expect((await registry.authenticateDevice(device.username, Buffer.from(rotated.password)))?.pilotEndsAt).toBeNull();
    await registry.endPilot(scope, pilot.id);
    expect((await registry.authenticateDevice(device.username, Buffer.from(rotated.password)))?.pilotEndsAt).toBe(now);
    expect((await registry.revokeDevice(scope, device.id))?.revokedAt).toBe(new Date(now).toISOString());
    expect(await registry.authenticateDevice(device.username, Buffer.from(rotated.password))).toBeUndefined();
    await expect(registry.rotateDevice(scope, device.id)).rejects.toThrow(/revoked/);
  });

  it('checks credentials that arrive together each against its own username and password', async () => {
    const co = await registry.createCompany(SETUP.scope, 'Storm Oy');
    const pilot = await registry.createPilot(SETUP.scope, { companyId: co.id, testbedId: 'oulu', name: 'p' });
    const scope: Scope = { kind: 'company', companyId: co.id };
    // More than one lookup's worth, so that the checks span several queries.
    const made = await registry.createDevices(
      SETUP.scope,
      pilot.id,
      Array.from({ length: CREDENTIAL_BATCH + 20 }, () => ({ profile: 'noise' })),
    );
    const revoked = made[7]!;
    await registry.revokeDevice(scope, revoked.device.id);
    // As the gateway asks in a connect storm: some checks may wait for others to share their lookup.
    const check = (username: string, password: string, waitMs = 0) => registry.authenticateDevice(username, Buffer.from(password), waitMs);
    const [first, second] = made;
    const results = await Promise.all([
      ...made.map((d, i) => check(d.device.username, d.password, i % 2 === 0 ? 10 : 0)),
      check(first!.device.username, second!.password), // someone else's password, in the same lookup as the right one
      check('nobody-at-all', first!.password),
      check('not a username', first!.password), // cannot be any device's
      check(second!.device.username.toUpperCase(), second!.password),
    ]);
    const answers = results.map((r) => r?.deviceId);
    expect(answers.slice(0, made.length)).toEqual(made.map((d) => (d === revoked ? undefined : d.device.id)));
    expect(answers.slice(made.length)).toEqual([undefined, undefined, undefined, undefined]);
    expect(results[1]).toMatchObject({ pilotId: pilot.id, companyId: co.id, testbedId: 'oulu', profile: 'noise' });
  });

  it('registers devices in bulk all or nothing', async () => {
    const co = await registry.createCompany(SETUP.scope, 'Bulk Oy');
    const pilot = await registry.createPilot(SETUP.scope, { companyId: co.id, testbedId: 'espoo', name: 'p' });
    await registry.createDevice(SETUP.scope, pilot.id, { profile: 'noise', username: 'bulk-taken' });
    const bad = [
      { profile: 'noise', username: 'bulk-1' },
      { profile: 'noise', username: 'bulk-taken' },
      { profile: 'noise', username: 'bulk-1' },
      { profile: 'noise', username: 'a/b' },
    ];
    expect(await registry.checkNewDevices(SETUP.scope, pilot.id, bad)).toEqual([
      { index: 1, field: 'username', reason: 'unavailable', message: expect.stringContaining('not available') },
      { index: 2, field: 'username', reason: 'repeated', message: 'bulk-1 is given twice in this request' },
      { index: 3, field: 'username', reason: 'unavailable', message: expect.stringContaining('not available') },
    ]);
    await expect(registry.createDevices(SETUP.scope, pilot.id, bad)).rejects.toThrow(/No device was registered/);
    expect(await registry.listDevices({ kind: 'all' }, pilot.id)).toHaveLength(1);
    expect(await registry.createDevices(SETUP.scope, pilot.id, [{ profile: 'noise' }, { profile: 'weather', username: 'bulk-2' }])).toHaveLength(2);
  });

  it('keeps a named secret across restarts', async () => {
    const first = await registry.secret('cursor');
    expect(first).toHaveLength(32);
    await registry.close();
    registry = await host.open(tmp.dir, 'registry-admin-token-0123', { now: () => now });
    expect((await registry.secret('cursor')).equals(first)).toBe(true);
  });
});

describe('registry migration from the first schema', () => {
  it('keeps existing companies, pilots, devices and keys working', async () => {
    const tmp = tempDir();
    const db = new BetterSqlite3(path.join(tmp.dir, 'registry.db'));
    db.exec(MIGRATIONS[0] as string);
    db.pragma('user_version = 1');
    db.prepare("INSERT INTO testbeds VALUES ('helsinki', 'Helsinki living lab', 'Helsinki')").run();
    db.prepare("INSERT INTO companies VALUES ('co_old', 'Old Oy', 1)").run();
    db.prepare("INSERT INTO pilots VALUES ('pi_old', 'co_old', 'helsinki', 'p', NULL, NULL, 1)").run();
    db.prepare("INSERT INTO devices VALUES ('dev_old', 'pi_old', 'co_old', 'helsinki', 'noise', NULL, 'old-device', ?, 1)").run(hashSecret('device-secret'));
    db.prepare("INSERT INTO api_keys VALUES ('key_old', ?, 'company', 'co_old', 'legacy', 1, NULL)").run(hashSecret('key-secret'));
    db.close();
    const registry = await Registry.open(tmp.dir, undefined);
    try {
      expect(await registry.authenticateKey('key_old.key-secret')).toMatchObject({
        role: 'company',
        scope: { kind: 'company', companyId: 'co_old' },
        readOnly: false,
      });
      expect(await registry.getPilot({ kind: 'all' }, 'pi_old')).toMatchObject({ sharing: 'private', endedAt: null });
      expect((await registry.authenticateDevice('old-device', Buffer.from('device-secret')))?.deviceId).toBe('dev_old');
      expect(await registry.listKeys(ADMIN)).toEqual([expect.objectContaining({ id: 'key_old', testbedIds: null, expiresAt: null, createdBy: null })]);
    } finally {
      await registry.close();
      tmp.remove();
    }
  });
});
