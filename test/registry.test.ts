import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestbedError } from '../core/errors.js';
import { Registry } from '../registry/registry.js';
import { resolveAdminToken } from '../registry/admin-token.js';
import { tempDir } from './helpers/tmp.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';

const ADMIN = 'admin-token-for-registry-tests';
const ALL = { kind: 'all' } as const;

describe('registry', () => {
  const tmp = tempDir();
  let registry: Registry;
  beforeAll(() => {
    registry = Registry.open(tmp.dir, ADMIN);
  });
  afterAll(() => {
    registry.close();
    tmp.remove();
  });

  it("has the six cities' testbeds from the first start, and once only after a restart", () => {
    expect(registry.listTestbeds().map((t) => t.id)).toEqual(['helsinki', 'espoo', 'vantaa', 'tampere', 'turku', 'oulu']);
    const again = Registry.open(tmp.dir, ADMIN);
    expect(again.listTestbeds()).toHaveLength(6);
    again.close();
  });

  it('authenticates a device by its generated secret and refuses anything else', () => {
    const company = registry.createCompany(SETUP.scope, 'Sensoria Oy');
    const pilot = registry.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'tampere', name: 'Tram stop air' });
    const { device, password } = registry.createDevice(ALL, pilot.id, { profile: 'air-quality', name: 'stop 4' });
    expect(password).toMatch(/^[a-z2-7]{32}$/); // 160 random bits
    expect(device.username).toBe(device.id);
    expect(registry.authenticateDevice(device.username, Buffer.from(password))).toMatchObject({
      deviceId: device.id,
      pilotId: pilot.id,
      companyId: company.id,
      testbedId: 'tampere',
      profile: 'air-quality',
    });
    expect(registry.authenticateDevice(device.username, Buffer.from(password.slice(1)))).toBeUndefined();
    expect(registry.authenticateDevice('nobody', Buffer.from(password))).toBeUndefined();
  });

  it('stores secrets and keys only as digests', () => {
    const company = registry.createCompany(SETUP.scope, 'Digest Oy');
    const pilot = registry.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'oulu', name: 'p' });
    const { password } = registry.createDevice(ALL, pilot.id, { profile: 'noise' });
    const { key } = registry.createCompanyKey(SETUP, company.id);
    registry.close();
    const files = fs.readdirSync(tmp.dir).filter((f) => f.startsWith('registry.db'));
    const bytes = Buffer.concat(files.map((f) => fs.readFileSync(path.join(tmp.dir, f))));
    registry = Registry.open(tmp.dir, ADMIN);
    expect(bytes.includes(password)).toBe(false);
    expect(bytes.includes(key.split('.')[1]!)).toBe(false);
  });

  it('gives a device the username it was given, once', () => {
    const company = registry.createCompany(SETUP.scope, 'Named Oy');
    const pilot = registry.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'espoo', name: 'p' });
    const { device } = registry.createDevice(ALL, pilot.id, { profile: 'noise', username: 'espoo-noise-1' });
    expect(device.username).toBe('espoo-noise-1');
    const taken = (() => {
      try {
        registry.createDevice(ALL, pilot.id, { profile: 'noise', username: 'espoo-noise-1' });
      } catch (err) {
        return err;
      }
    })();
    // A taken username answers exactly as an unsafe one: nothing confirms that it exists.
    expect(taken).toBeInstanceOf(TestbedError);
    expect((taken as TestbedError).code).toBe('TESTBED_BAD_REQUEST');
    const unsafe = (() => {
      try {
        registry.createDevice(ALL, pilot.id, { profile: 'noise', username: 'a/b' });
      } catch (err) {
        return err;
      }
    })();
    expect(unsafe).toEqual(taken);
    expect((unsafe as TestbedError).details).toEqual((taken as TestbedError).details);
  });

  it('resolves keys to callers with their scope', () => {
    const company = registry.createCompany(SETUP.scope, 'Keyed Oy');
    const { key, apiKey } = registry.createCompanyKey(SETUP, company.id, 'ci');
    expect(registry.authenticateKey(key)).toMatchObject({
      keyId: apiKey.id,
      role: 'company',
      scope: { kind: 'company', companyId: company.id },
      readOnly: false,
    });
    expect(registry.authenticateKey(ADMIN)).toMatchObject({ keyId: 'admin', role: 'admin', scope: ALL, readOnly: false });
    expect(registry.authenticateKey(`${key}x`)).toBeUndefined();
    expect(registry.authenticateKey(`${apiKey.id}.`)).toBeUndefined();
    expect(registry.authenticateKey('nonsense')).toBeUndefined();
    expect(registry.authenticateKey('')).toBeUndefined();
    expect(() => registry.createCompanyKey(SETUP, 'co_missing')).toThrow(TestbedError);
  });

  it("never shows one company another company's pilots or devices", () => {
    const a = registry.createCompany(SETUP.scope, 'A Oy');
    const b = registry.createCompany(SETUP.scope, 'B Oy');
    const pilot = registry.createPilot(SETUP.scope, { companyId: a.id, testbedId: 'vantaa', name: 'p' });
    const { device } = registry.createDevice(ALL, pilot.id, { profile: 'weather' });
    const scopeA = { kind: 'company', companyId: a.id } as const;
    const scopeB = { kind: 'company', companyId: b.id } as const;
    expect(registry.getPilot(scopeA, pilot.id)?.id).toBe(pilot.id);
    expect(registry.getPilot(scopeB, pilot.id)).toBeUndefined();
    expect(registry.getDevice(scopeA, device.id)?.id).toBe(device.id);
    expect(registry.getDevice(scopeB, device.id)).toBeUndefined();
    expect(registry.getCompany(scopeB, a.id)).toBeUndefined();
    expect(() => registry.createDevice(scopeB, pilot.id, { profile: 'weather' })).toThrow(/No pilot/);
  });

  it('enforces who may create what, whatever the caller forgot to check', () => {
    const company = registry.createCompany(SETUP.scope, 'Door Oy');
    const operator = registry.authenticateKey(
      registry.createKey(SETUP, { role: 'operator', companyId: null, testbedIds: ['turku'], readOnly: false, expiresAt: null }, null).key,
    )!;
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return (err as TestbedError).code;
      }
      return 'ok';
    };
    expect(code(() => registry.createCompany(operator.scope, 'Not Oy'))).toBe('TESTBED_FORBIDDEN');
    expect(code(() => registry.createPilot(operator.scope, { companyId: company.id, testbedId: 'oulu', name: 'p' }))).toBe('TESTBED_FORBIDDEN');
    expect(code(() => registry.createPilot({ kind: 'company', companyId: company.id }, { companyId: company.id, testbedId: 'turku', name: 'p' }))).toBe(
      'TESTBED_FORBIDDEN',
    );
    expect(code(() => registry.createPilot(operator.scope, { companyId: company.id, testbedId: 'turku', name: 'p' }))).toBe('ok');
    expect(code(() => registry.createCompanyKey(operator, company.id))).toBe('TESTBED_FORBIDDEN');
    expect(code(() => registry.createKey(operator, { role: 'admin', companyId: null, testbedIds: null, readOnly: false, expiresAt: null }, null))).toBe(
      'TESTBED_FORBIDDEN',
    );
    expect(
      registry.createKey(operator, { role: 'researcher', companyId: null, testbedIds: ['turku'], readOnly: true, expiresAt: null }, null).apiKey.createdBy,
    ).toBe(operator.keyId);
  });

  it('checks pilots: known company and testbed, end after start', () => {
    const c = registry.createCompany(SETUP.scope, 'Dated Oy');
    expect(() => registry.createPilot(SETUP.scope, { companyId: c.id, testbedId: 'stockholm', name: 'p' })).toThrow(/No testbed/);
    expect(() => registry.createPilot(SETUP.scope, { companyId: 'co_none', testbedId: 'turku', name: 'p' })).toThrow(/No company/);
    expect(() => registry.createPilot(SETUP.scope, { companyId: c.id, testbedId: 'turku', name: 'p', startsAt: 2000, endsAt: 1000 })).toThrow(/later/);
    const p = registry.createPilot(SETUP.scope, { companyId: c.id, testbedId: 'turku', name: 'p', startsAt: Date.parse('2026-01-01T00:00:00Z') });
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
