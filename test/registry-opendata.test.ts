import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coarsen, parseBbox, scopeAdmits, type Point } from '../core/index.js';
import { type Registry } from '../registry/registry.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';
import { REGISTRY_DATABASES, registryHost } from './helpers/registries.js';
import { tempDir } from './helpers/tmp.js';

const DAY = 86_400_000;
const T0 = Date.parse('2025-03-01T00:00:00Z');
const at = (lon: number, lat: number, alt?: number): Point => ({ type: 'Point', coordinates: alt === undefined ? [lon, lat] : [lon, lat, alt] });

describe.each(REGISTRY_DATABASES)('registry on %s: open data', (database) => {
  const tmp = tempDir();
  const host = registryHost(database);
  let clock = T0;
  let registry: Registry;
  let companyId: string;
  beforeAll(async () => {
    registry = await host.open(tmp.dir, undefined, { now: () => clock });
    companyId = (await registry.createCompany(SETUP.scope, 'Open Oy')).id;
  });
  afterAll(async () => {
    await registry.close();
    await host.close();
    tmp.remove();
  });
  const pilot = async (input: Partial<Parameters<Registry['createPilot']>[1]> = {}) =>
    await registry.createPilot(SETUP.scope, { companyId, testbedId: 'espoo', name: 'p', ...input });

  it('gives an open pilot CC-BY-4.0 unless a licence is chosen, and keeps attribution and citation', async () => {
    const open = await pilot({ sharing: 'open', attribution: 'City of Espoo, Open Oy' });
    expect(open).toMatchObject({
      sharing: 'open',
      sharingNow: 'open',
      licence: 'CC-BY-4.0',
      attribution: 'City of Espoo, Open Oy',
      citation: null,
      openFrom: null,
    });
    expect((await pilot({ sharing: 'private' })).licence).toBeNull();
    const changed = await registry.updatePilot(SETUP.scope, open.id, { licence: 'ODbL-1.0', citation: 'Open Oy (2025) Air in Espoo' });
    expect(changed).toMatchObject({ licence: 'ODbL-1.0', citation: 'Open Oy (2025) Air in Espoo' });
    await expect(registry.updatePilot(SETUP.scope, open.id, { licence: null })).rejects.toThrow(/has a licence/);
    const made = await registry.updatePilot(SETUP.scope, (await pilot()).id, { sharing: 'open' });
    expect(made?.licence).toBe('CC-BY-4.0');
  });

  it('is under embargo until openFrom: its embargo tier in force, then open; the anonymous scope follows the clock', async () => {
    const embargoed = await pilot({ sharing: 'open', openFrom: T0 + DAY, embargoSharing: 'research' });
    const hidden = await pilot({ sharing: 'open', openFrom: T0 + DAY });
    const open = await pilot({ sharing: 'open' });
    const research = await pilot({ sharing: 'research' });
    const anon = async () => (await registry.anonymousCaller()).scope;
    expect(await registry.getPilot(SETUP.scope, embargoed.id)).toMatchObject({ sharing: 'open', sharingNow: 'research' });
    expect((await registry.getPilot(SETUP.scope, hidden.id))?.sharingNow).toBe('private');
    const place = (id: string) => ({ companyId, testbedId: 'espoo', pilotId: id });
    expect(scopeAdmits(await anon(), place(open.id))).toBe(true);
    for (const id of [embargoed.id, hidden.id, research.id]) expect(scopeAdmits(await anon(), place(id))).toBe(false);
    expect(await registry.getPilot(await anon(), embargoed.id)).toBeUndefined();
    expect((await registry.listPilots(await anon(), { sharing: 'open' })).map((p) => p.id)).toContain(open.id);

    const researcher = await registry.createKey(SETUP, { role: 'researcher', companyId: null, testbedIds: null, readOnly: true, expiresAt: null }, 'r');
    const rScope = async () => (await registry.authenticateKey(researcher.key))!.scope;
    expect(scopeAdmits(await rScope(), place(embargoed.id))).toBe(true);
    expect(scopeAdmits(await rScope(), place(hidden.id))).toBe(false);
    expect(scopeAdmits(await rScope(), place(research.id))).toBe(true);

    clock = T0 + DAY;
    expect((await registry.getPilot(await anon(), embargoed.id))?.sharingNow).toBe('open');
    expect((await registry.getPilot(await anon(), hidden.id))?.sharingNow).toBe('open');
    expect(scopeAdmits(await rScope(), place(hidden.id))).toBe(true);
    clock = T0;
  });

  it('refuses openFrom on a pilot that is not open, and drops it when the pilot stops being open', async () => {
    await expect(pilot({ sharing: 'research', openFrom: T0 + DAY })).rejects.toThrow(/openFrom/);
    const p = await pilot({ sharing: 'open', openFrom: T0 + DAY });
    expect((await registry.updatePilot(SETUP.scope, p.id, { sharing: 'private' }))?.openFrom).toBeNull();
  });

  it('an anonymous caller is read-only: it changes nothing even where it sees', async () => {
    const p = await pilot({ sharing: 'open' });
    const { device } = await registry.createDevice(SETUP.scope, p.id, { profile: 'noise' });
    const anon = await registry.anonymousCaller();
    expect(anon).toMatchObject({ role: 'anonymous', readOnly: true, scope: { kind: 'research' } });
    expect((await registry.getDevice(anon.scope, device.id))?.id).toBe(device.id);
    await expect(registry.updatePilot(anon.scope, p.id, { name: 'x' })).rejects.toThrow(/only read/);
    await expect(registry.updateDevice(anon.scope, device.id, { placement: 'x' })).rejects.toThrow(/only read/);
    await expect(registry.createDevice(anon.scope, p.id, { profile: 'noise' })).rejects.toThrow(/only read/);
    await expect(registry.revokeDevice(anon.scope, device.id)).rejects.toThrow(/only read/);
    await expect(registry.endPilot(anon.scope, p.id)).rejects.toThrow(/only read/);
    expect((await registry.recheckKey('anonymous'))?.role).toBe('anonymous');
  });

  it('keeps each location change as a stretch of history, from and to', async () => {
    const p = await pilot({ sharing: 'private' });
    clock = T0 + 1000;
    const { device } = await registry.createDevice(SETUP.scope, p.id, {
      profile: 'noise',
      location: at(24.8, 60.2, 12),
      placement: 'lamp post, 4 m, north side',
      installedAt: T0,
    });
    expect(device).toMatchObject({
      location: at(24.8, 60.2, 12),
      placement: 'lamp post, 4 m, north side',
      installedAt: new Date(T0).toISOString(),
      removedAt: null,
    });
    clock = T0 + 2000;
    await registry.updateDevice(SETUP.scope, device.id, { placement: 'moved up' }); // no new stretch
    clock = T0 + 3000;
    const moved = await registry.updateDevice(SETUP.scope, device.id, { location: at(24.81, 60.21) });
    expect(moved?.location).toEqual(at(24.81, 60.21));
    expect(moved?.placement).toBe('moved up');
    const iso = (ms: number) => new Date(ms).toISOString();
    expect(await registry.listDeviceLocations(SETUP.scope, device.id)).toEqual([
      { deviceId: device.id, location: at(24.8, 60.2, 12), from: iso(T0 + 1000), to: iso(T0 + 3000) },
      { deviceId: device.id, location: at(24.81, 60.21), from: iso(T0 + 3000), to: null },
    ]);
    clock = T0 + 4000;
    await registry.updateDevice(SETUP.scope, device.id, { location: null, removedAt: T0 + 4000 });
    expect((await registry.listDeviceLocations(SETUP.scope, device.id))?.at(-1)?.to).toBe(iso(T0 + 4000));
    expect((await registry.getDevice(SETUP.scope, device.id))?.location).toBeNull();
    await expect(registry.updateDevice(SETUP.scope, device.id, { installedAt: T0 + 5000 })).rejects.toThrow(/removedAt/);
    // Another company's scope sees neither the device nor its history.
    expect(await registry.listDeviceLocations({ kind: 'company', companyId: 'co_other' }, device.id)).toBeUndefined();
    clock = T0;
  });

  it('publishes locations on the pilot grid to researchers and anonymous readers, exactly to the company; bbox filters what the reader sees', async () => {
    const p = await pilot({ sharing: 'open', locationPrecisionMeters: 100 });
    const exact = at(24.65432, 60.20512);
    const { device } = await registry.createDevice(SETUP.scope, p.id, { profile: 'noise', location: exact });
    const anon = (await registry.anonymousCaller()).scope;
    expect(await registry.getDevice({ kind: 'company', companyId }, device.id)).toMatchObject({ location: exact, locationPrecisionMeters: null });
    const seen = await registry.getDevice(anon, device.id);
    expect(seen?.locationPrecisionMeters).toBe(100);
    expect(seen?.location).toEqual(coarsen(exact, 100));
    expect(seen?.location).not.toEqual(exact);
    expect((await registry.listDeviceLocations(anon, device.id))?.[0]?.location).toEqual(coarsen(exact, 100));
    const box = (s: string) => {
      const b = parseBbox(s);
      if (typeof b === 'string') throw new Error(b);
      return b;
    };
    expect(await registry.listDevices(anon, p.id, { bbox: box('24.6,60.1,24.7,60.3') })).toHaveLength(1);
    expect(await registry.listDevices(anon, p.id, { bbox: box('25,60.1,25.1,60.3') })).toHaveLength(0);
  });
});

describe('geo', () => {
  it('snaps every point of a cell to its centre, within the precision of the original', () => {
    const a = coarsen(at(24.65432, 60.20512), 100);
    const b = coarsen(at(24.65433, 60.20513), 100);
    expect(a).toEqual(b);
    const [lon, lat] = a.coordinates;
    expect(Math.abs(lat - 60.20512) * 111_320).toBeLessThanOrEqual(50);
    expect(Math.abs(lon - 24.65432) * 111_320 * Math.cos((lat * Math.PI) / 180)).toBeLessThanOrEqual(51);
    expect(coarsen(at(24.6, 60.2, 37), 100).coordinates[2]).toBe(0);
  });

  it.each([
    ['1,2,3', /four numbers/],
    ['a,1,2,3', /four numbers/],
    ['10,10,5,20', /must not exceed/],
    ['-181,0,0,1', /within/],
  ])('refuses bbox %s', (text, message) => {
    expect(parseBbox(text)).toMatch(message);
  });
});
