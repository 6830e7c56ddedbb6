import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestbedError } from '../core/errors.js';
import { type Registry } from '../registry/registry.js';
import { resolveAdminToken } from '../registry/admin-token.js';
import { REGISTRY_DATABASES, registryHost } from './helpers/registries.js';
import { tempDir } from './helpers/tmp.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';

const ADMIN = 'admin-token-for-registry-tests';
const ALL = { kind: 'all' } as const;

describe.each(REGISTRY_DATABASES)('registry on %s', (database) => {
  const tmp = tempDir();
  const host = registryHost(database);
  let registry: Registry;
  beforeAll(async () => {
    registry = await host.open(tmp.dir, ADMIN);
  });
  afterAll(async () => {
    await registry.close();
    await host.close();
    tmp.remove();
  });

  it("has the six cities' testbeds from the first start, and once only after a restart", async () => {
    expect((await registry.listTestbeds()).map((t) => t.id)).toEqual(['helsinki', 'espoo', 'vantaa', 'tampere', 'turku', 'oulu']);
    const again = await host.open(tmp.dir, ADMIN);
    expect(await again.listTestbeds()).toHaveLength(6);
    await again.close();
  });

  it('authenticates a device by its generated secret and refuses anything else', async () => {
    const company = await registry.createCompany(SETUP.scope, 'Sensoria Oy');
    const pilot = await registry.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'tampere', name: 'Tram stop air' });
    const { device, password } = await registry.createDevice(ALL, pilot.id, { profile: 'air-quality', name: 'stop 4' });
    expect(password).toMatch(/^[a-z2-7]{32}$/); // 160 random bits
    expect(device.username).toBe(device.id);
    expect(await registry.authenticateDevice(device.username, Buffer.from(password))).toMatchObject({
      deviceId: device.id,
      pilotId: pilot.id,
      companyId: company.id,
      testbedId: 'tampere',
      profile: 'air-quality',
    });
    expect(await registry.authenticateDevice(device.username, Buffer.from(password.slice(1)))).toBeUndefined();
    expect(await registry.authenticateDevice('nobody', Buffer.from(password))).toBeUndefined();
  });

  it('stores secrets and keys only as digests', async () => {
    const company = await registry.createCompany(SETUP.scope, 'Digest Oy');
    const pilot = await registry.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'oulu', name: 'p' });
    const { password } = await registry.createDevice(ALL, pilot.id, { profile: 'noise' });
    const { key } = await registry.createCompanyKey(SETUP, company.id);
    await registry.close();
    const bytes = await host.storedBytes(tmp.dir);
    expect(bytes.length).toBeGreaterThan(0);
    registry = await host.open(tmp.dir, ADMIN);
    expect(bytes.includes(password)).toBe(false);
    expect(bytes.includes(key.split('.')[1]!)).toBe(false);
    // PostgreSQL's rows come as JSON, where a bytea column is hex: a secret kept as bytes would show so.
    expect(bytes.includes(Buffer.from(password).toString('hex'))).toBe(false);
    expect(bytes.includes(Buffer.from(key.split('.')[1]!).toString('hex'))).toBe(false);
  });

  it('gives a device the username it was given, once', async () => {
    const company = await registry.createCompany(SETUP.scope, 'Named Oy');
    const pilot = await registry.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'espoo', name: 'p' });
    const { device } = await registry.createDevice(ALL, pilot.id, { profile: 'noise', username: 'espoo-noise-1' });
    expect(device.username).toBe('espoo-noise-1');
    const taken = await (async () => {
      try {
        await registry.createDevice(ALL, pilot.id, { profile: 'noise', username: 'espoo-noise-1' });
      } catch (err) {
        return err;
      }
    })();
    // A taken username answers exactly as an unsafe one: nothing confirms that it exists.
    expect(taken).toBeInstanceOf(TestbedError);
    expect((taken as TestbedError).code).toBe('TESTBED_BAD_REQUEST');
    const unsafe = await (async () => {
      try {
        await registry.createDevice(ALL, pilot.id, { profile: 'noise', username: 'a/b' });
      } catch (err) {
        return err;
      }
    })();
    expect(unsafe).toEqual(taken);
    expect((unsafe as TestbedError).details).toEqual((taken as TestbedError).details);
  });

  it('resolves keys to callers with their scope', async () => {
    const company = await registry.createCompany(SETUP.scope, 'Keyed Oy');
    const { key, apiKey } = await registry.createCompanyKey(SETUP, company.id, 'ci');
    expect(await registry.authenticateKey(key)).toMatchObject({
      keyId: apiKey.id,
      role: 'company',
      scope: { kind: 'company', companyId: company.id },
      readOnly: false,
    });
    expect(await registry.authenticateKey(ADMIN)).toMatchObject({ keyId: 'admin', role: 'admin', scope: ALL, readOnly: false });
    expect(await registry.authenticateKey(`${key}x`)).toBeUndefined();
    expect(await registry.authenticateKey(`${apiKey.id}.`)).toBeUndefined();
    expect(await registry.authenticateKey('nonsense')).toBeUndefined();
    expect(await registry.authenticateKey('')).toBeUndefined();
    await expect(registry.createCompanyKey(SETUP, 'co_missing')).rejects.toThrow(TestbedError);
  });

  it("never shows one company another company's pilots or devices", async () => {
    const a = await registry.createCompany(SETUP.scope, 'A Oy');
    const b = await registry.createCompany(SETUP.scope, 'B Oy');
    const pilot = await registry.createPilot(SETUP.scope, { companyId: a.id, testbedId: 'vantaa', name: 'p' });
    const { device } = await registry.createDevice(ALL, pilot.id, { profile: 'weather' });
    const scopeA = { kind: 'company', companyId: a.id } as const;
    const scopeB = { kind: 'company', companyId: b.id } as const;
    expect((await registry.getPilot(scopeA, pilot.id))?.id).toBe(pilot.id);
    expect(await registry.getPilot(scopeB, pilot.id)).toBeUndefined();
    expect((await registry.getDevice(scopeA, device.id))?.id).toBe(device.id);
    expect(await registry.getDevice(scopeB, device.id)).toBeUndefined();
    expect(await registry.getCompany(scopeB, a.id)).toBeUndefined();
    await expect(registry.createDevice(scopeB, pilot.id, { profile: 'weather' })).rejects.toThrow(/No pilot/);
  });

  it('enforces who may create what, whatever the caller forgot to check', async () => {
    const company = await registry.createCompany(SETUP.scope, 'Door Oy');
    const operator = (await registry.authenticateKey(
      (await registry.createKey(SETUP, { role: 'operator', companyId: null, testbedIds: ['turku'], readOnly: false, expiresAt: null }, null)).key,
    ))!;
    const code = async (f: () => Promise<unknown>) => {
      try {
        await f();
      } catch (err) {
        return (err as TestbedError).code;
      }
      return 'ok';
    };
    expect(await code(async () => await registry.createCompany(operator.scope, 'Not Oy'))).toBe('TESTBED_FORBIDDEN');
    expect(await code(async () => await registry.createPilot(operator.scope, { companyId: company.id, testbedId: 'oulu', name: 'p' }))).toBe(
      'TESTBED_FORBIDDEN',
    );
    expect(
      await code(async () => await registry.createPilot({ kind: 'company', companyId: company.id }, { companyId: company.id, testbedId: 'turku', name: 'p' })),
    ).toBe('TESTBED_FORBIDDEN');
    expect(await code(async () => await registry.createPilot(operator.scope, { companyId: company.id, testbedId: 'turku', name: 'p' }))).toBe('ok');
    expect(await code(async () => await registry.createCompanyKey(operator, company.id))).toBe('TESTBED_FORBIDDEN');
    expect(
      await code(async () => await registry.createKey(operator, { role: 'admin', companyId: null, testbedIds: null, readOnly: false, expiresAt: null }, null)),
    ).toBe('TESTBED_FORBIDDEN');
    expect(
      (await registry.createKey(operator, { role: 'researcher', companyId: null, testbedIds: ['turku'], readOnly: true, expiresAt: null }, null)).apiKey
        .createdBy,
    ).toBe(operator.keyId);
  });

  it('folds health batches in: connected and gone in one batch, events in order, the first reading makes a device ok once', async () => {
    const company = await registry.createCompany(SETUP.scope, 'Terveys Oy');
    const pilot = await registry.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'vantaa', name: 'p' });
    const [a, b] = (await registry.createDevices(ALL, pilot.id, [{ profile: 'noise' }, { profile: 'noise' }])).map((d) => d.device.id) as [string, string];
    const t = Date.parse('2026-03-01T12:00:00Z');
    await registry.recordConnections([
      { deviceId: a, at: t, online: true },
      { deviceId: a, at: t + 1000, online: false, reason: 'client closed' },
      { deviceId: b, at: t, online: true },
      { deviceId: 'dev_nobody', at: t, online: true },
    ]);
    expect(await registry.getDeviceHealth(ALL, a)).toMatchObject({
      online: false,
      lastConnectedAt: t,
      lastDisconnectedAt: t + 1000,
      disconnectReason: 'client closed',
      lastSeen: t + 1000,
      status: 'never',
    });
    expect(await registry.getDeviceHealth(ALL, b)).toMatchObject({ online: true, lastConnectedAt: t, lastDisconnectedAt: null });
    const first = await registry.recordActivity([
      { deviceId: a, lastReadingAt: t + 5000, lateMs: 60_000, silentMs: 300_000, battery: { value: 3.1, low: true } },
      { deviceId: 'dev_nobody', lastReadingAt: t, lateMs: 1, silentMs: 2 },
    ]);
    expect(first).toEqual([{ deviceId: a, from: 'never', to: 'ok', companyId: company.id, testbedId: 'vantaa', pilotId: pilot.id }]);
    // Older activity does not move the times back, and an ok device is no change.
    expect(await registry.recordActivity([{ deviceId: a, lastReadingAt: t + 2000, lateMs: 60_000, silentMs: 300_000 }])).toEqual([]);
    expect(await registry.getDeviceHealth(ALL, a)).toMatchObject({ status: 'ok', lastReadingAt: t + 5000, lastSeen: t + 5000, battery: 3.1, batteryLow: true });
    const events = await registry.listDeviceEvents(ALL, a, { from: t, to: t + 10_000, limit: 10 });
    expect(events?.map((e) => ({ type: e.type, time: e.time, ...('reason' in e ? { reason: e.reason } : {}) }))).toEqual([
      { type: 'connected', time: new Date(t).toISOString() },
      { type: 'disconnected', time: new Date(t + 1000).toISOString(), reason: 'client closed' },
      { type: 'status', time: new Date(t + 5000).toISOString() },
    ]);
  });

  it('checks pilots: known company and testbed, end after start', async () => {
    const c = await registry.createCompany(SETUP.scope, 'Dated Oy');
    await expect(registry.createPilot(SETUP.scope, { companyId: c.id, testbedId: 'stockholm', name: 'p' })).rejects.toThrow(/No testbed/);
    await expect(registry.createPilot(SETUP.scope, { companyId: 'co_none', testbedId: 'turku', name: 'p' })).rejects.toThrow(/No company/);
    await expect(registry.createPilot(SETUP.scope, { companyId: c.id, testbedId: 'turku', name: 'p', startsAt: 2000, endsAt: 1000 })).rejects.toThrow(/later/);
    const p = await registry.createPilot(SETUP.scope, { companyId: c.id, testbedId: 'turku', name: 'p', startsAt: Date.parse('2026-01-01T00:00:00Z') });
    expect(p.startsAt).toBe('2026-01-01T00:00:00.000Z');
    expect(p.endsAt).toBeNull();
  });
});

describe('admin token', () => {
  it('is generated once, kept private in the data folder, and reused', () => {
    const tmp = tempDir();
    const first = resolveAdminToken(tmp.dir, undefined);
    expect(first.generated).toBe(true);
    expect(first.token.length).toBeGreaterThanOrEqual(32);
    expect(fs.statSync(first.file!).mode & 0o777).toBe(0o600);
    const second = resolveAdminToken(tmp.dir, undefined);
    expect(second).toMatchObject({ token: first.token, generated: false });
    expect(resolveAdminToken(tmp.dir, 'configured-token-123456')).toMatchObject({ token: 'configured-token-123456', generated: false });
    tmp.remove();
  });
});
