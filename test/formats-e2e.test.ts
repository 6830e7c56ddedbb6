import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../core/topics.js';
import { ADMIN_TOKEN, startTestPipeline, type TestPipeline } from './helpers/pipeline.js';
import { eventually } from './helpers/wait.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';

/**
 * Payload formats end to end: SenML packs (the examples of RFC 8428 section 5.1
 * adapted to a profile's measurements), binary frames and values in
 * alternative units, published over real MQTT to the whole pipeline, read back
 * through the HTTP API in the units the profiles list.
 */
let p: TestPipeline;
let key: string;
let pilotId: string;
const NOW_S = Math.floor(Date.now() / 1000) - 60;
const iso = (s: number) => new Date(Math.round(s * 1000)).toISOString();

beforeAll(async () => {
  p = await startTestPipeline();
  const company = await p.registry.createCompany(SETUP.scope, 'Formaatit Oy');
  key = (await p.registry.createCompanyKey(SETUP, company.id, 'formats')).key;
  pilotId = (await p.registry.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'helsinki', name: 'Formats' })).id;
});
afterAll(async () => {
  await p?.close();
});

async function api(path: string, as = key) {
  const res = await fetch(`${p.apiUrl}${path}`, { headers: { authorization: `Bearer ${as}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, any>;
}

/** Registers a device, publishes the payloads with a stock MQTT client, and waits for `count` readings through the API. */
async function publishAndRead(profile: string, payloads: (string | Buffer)[], count: number): Promise<{ readings: any[]; rejections: any[] }> {
  const { device, password } = await p.registry.createDevice({ kind: 'all' }, pilotId, { profile });
  const client = await mqtt.connectAsync(p.mqttUrl, { username: device.username, password, protocolVersion: 4, reconnectPeriod: 0 });
  for (const payload of payloads) await client.publishAsync(deviceTopic(device.id, 'readings'), payload, { qos: 1 });
  await client.endAsync();
  // Everything acknowledged is in the queue; once the queue is empty, its readings and rejections are both written.
  await eventually(async () => ((await api('/v1/health', ADMIN_TOKEN)).queue.depthBytes === 0 ? true : undefined), 10_000, 'the queue delivered');
  const readings = await eventually(
    async () => {
      const body = await api(`/v1/devices/${device.id}/readings?from=2020-01-01T00:00:00Z`);
      return body.readings.length >= count ? body.readings : undefined;
    },
    10_000,
    `${count} readings of ${profile}`,
  );
  const { rejections } = await api(`/v1/devices/${device.id}/rejections`);
  return { readings, rejections };
}

describe('payload formats, published and read back', () => {
  it("stores the RFC 8428 multiple-datapoints pack with its own times, in the profile's units", async () => {
    const bt = NOW_S + 0.001;
    const pack = [
      { bn: 'urn:dev:ow:10e2073a0108006:', bt, bu: 'km/h', bver: 5, n: 'pressure', u: 'Pa', v: 101210 },
      { n: 'wind_speed', t: -5, v: 4.32 },
      { n: 'wind_speed', t: -4, v: 4.68 },
      { n: 'wind_speed', v: 6.12 },
      { n: 'temperature', u: 'K', v: 270.65 },
    ];
    const { readings, rejections } = await publishAndRead('weather', [JSON.stringify(pack)], 3);
    expect(rejections).toEqual([]);
    expect(readings).toEqual([
      { time: iso(bt - 5), values: { wind_speed: 1.2 } },
      { time: iso(bt - 4), values: { wind_speed: 1.3 } },
      { time: iso(bt), values: { pressure: 1012.1, wind_speed: 1.7, temperature: -2.5 } },
    ]);
    const { profiles } = await api('/v1/profiles');
    const units = Object.fromEntries(profiles.find((x: any) => x.id === 'weather').measurements.map((m: any) => [m.name, m.unit]));
    expect(units).toMatchObject({ pressure: 'hPa', wind_speed: 'm/s', temperature: '°C' });
  });

  it("tells a tracker's measurements apart by SenML unit (RFC 8428 section 5.1.4) and flags a fix outside Finland", async () => {
    const pack = [
      { bn: 'urn:dev:ow:10e2073a01080063', bt: NOW_S - 120, bu: '%EL', v: 98 },
      { u: 'lon', v: 24.30621 },
      { u: 'lat', v: 60.07965 },
      { t: 60, u: 'lon', v: 24.30622 },
      { t: 60, u: 'lat', v: 58.9 },
    ];
    const { readings } = await publishAndRead('gps-tracker', [JSON.stringify(pack)], 2);
    expect(readings).toEqual([
      { time: iso(NOW_S - 120), values: { battery_level: 98, longitude: 24.30621, latitude: 60.07965 } },
      { time: iso(NOW_S - 60), values: { longitude: 24.30622, latitude: 58.9 }, suspect: ['latitude'] },
    ]);
  });

  it('decodes binary frames as their layout says', async () => {
    const { readings, rejections } = await publishAndRead(
      'indoor-air',
      [Buffer.from('0500d64d04d857', 'hex'), Buffer.from('0500ec3c17d428', 'hex'), Buffer.from('0500d64d04', 'hex')],
      2,
    );
    expect(readings.map((r: any) => [r.values, r.suspect])).toEqual([
      [{ temperature: 21.4, humidity: 38.5, co2: 1240, battery_level: 87 }, undefined],
      [{ temperature: 23.6, humidity: 30, co2: 6100, battery_level: 40 }, ['co2']],
    ]);
    expect(rejections.map((r: any) => [r.code, r.payloadEncoding, r.payload])).toEqual([
      ['TESTBED_READING_BAD_BINARY', 'base64', Buffer.from('0500d64d04', 'hex').toString('base64')],
    ]);
  });

  it('converts flat JSON in declared alternative units and rejects undeclared ones', async () => {
    const time = iso(NOW_S);
    const { readings, rejections } = await publishAndRead(
      'water-level',
      [
        JSON.stringify({ water_level: 34.7, battery_voltage: 3598, units: { water_level: 'cm', battery_voltage: 'mV' }, time }),
        JSON.stringify({ water_level: 1, units: { water_level: 'in' } }),
      ],
      1,
    );
    expect(readings).toEqual([{ time, values: { water_level: 0.347, battery_voltage: 3.598 } }]);
    expect(rejections.map((r: any) => r.code)).toEqual(['TESTBED_READING_UNIT_NOT_ACCEPTED']);
  });
});
