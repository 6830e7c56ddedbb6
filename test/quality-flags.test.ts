import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../api/csv.js';
import { startPipeline, type RunningPipeline } from '../cli/pipeline.js';
import { loadConfig } from '../core/config.js';
import { createLogger } from '../core/log.js';
import { bundledProfilesDir, compileProfile, profileSchema } from '../device-profiles/index.js';
import { QualityTracker } from '../ingest/quality.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';
import type { Reading } from '../store/index.js';
import { ADMIN_TOKEN } from './helpers/pipeline.js';
import { tempDir } from './helpers/tmp.js';
import { eventually } from './helpers/wait.js';

/**
 * The `stuck` and `gap` quality flags, from an MQTT message through ingest into
 * the store and out of every output: JSON readings, CSV and NDJSON exports, the
 * live stream and SensorThings' resultQuality. A profile with a 0.1 s interval
 * is silent after 0.6 s, so a pause of a second makes the next reading a gap.
 */
const FLAKY = {
  formatVersion: 1,
  id: 'flaky-meter',
  name: 'Flaky meter (tests)',
  reportingIntervalSeconds: 0.1,
  health: { stuckAfter: 3 },
  measurements: [
    { name: 'temperature', quantity: 'temperature', unit: '°C', range: { min: -50, max: 80 } },
    { name: 'humidity', quantity: 'relative_humidity', unit: '%', range: { min: 0, max: 100 } },
  ],
};
const SILENCE_MS = 1000;

describe('the quality tracker', () => {
  const profile = compileProfile(profileSchema.parse(FLAKY));
  const catalogue = new Map([[FLAKY.id, profile]]);
  const at = (time: number, values: Record<string, number>, deviceId = 'd1'): Reading => ({
    deviceId,
    pilotId: 'p',
    companyId: 'c',
    testbedId: 't',
    profile: FLAKY.id,
    time,
    values,
  });

  it('flags the third equal value of a measurement in a row, and every one after it, until the value changes', () => {
    const q = new QualityTracker(catalogue);
    const marks = [20, 20, 20, 20, 21, 21].map((t, i) => q.mark(at(i * 100, { temperature: t, humidity: i })).stuck);
    expect(marks).toEqual([undefined, undefined, ['temperature'], ['temperature'], undefined, undefined]);
  });

  it('flags a gap after a silence longer than the silent threshold, not after a late reading, and ignores an older one', () => {
    const q = new QualityTracker(catalogue);
    expect(q.mark(at(0, { temperature: 1 })).gap).toBeUndefined();
    expect(q.mark(at(500, { temperature: 2 })).gap).toBeUndefined(); // late, not silent (0.6 s)
    expect(q.mark(at(1200, { temperature: 3 })).gap).toBe(true);
    expect(q.mark(at(100, { temperature: 3 }))).toEqual(at(100, { temperature: 3 })); // a backlog reading: judged by nothing
    expect(q.mark(at(1300, { temperature: 4 }, 'd2')).gap).toBeUndefined(); // a device's first reading ends no silence
  });

  it('takes the newest stored reading of a device it has not seen, so a silence across a restart is a gap', () => {
    const q = new QualityTracker(catalogue, (id) => (id === 'd1' ? 0 : undefined));
    expect(q.mark(at(5000, { temperature: 1 })).gap).toBe(true);
    expect(q.mark(at(5000, { temperature: 1 }, 'd2')).gap).toBeUndefined();
  });
});

const data = tempDir();
const profiles = tempDir();
let p: RunningPipeline;

async function start() {
  const config = loadConfig({
    TESTBED_DATA_DIR: data.dir,
    TESTBED_PROFILES_DIR: profiles.dir,
    TESTBED_MQTT_PORT: '0',
    TESTBED_HTTP_PORT: '0',
    TESTBED_ADMIN_TOKEN: ADMIN_TOKEN,
    TESTBED_FLUSH_MS: '20',
  });
  p = await startPipeline(config, createLogger(process.env.TESTBED_TEST_LOG ?? 'silent'));
}

beforeAll(async () => {
  for (const f of fs.readdirSync(bundledProfilesDir()).filter((f) => f.endsWith('.json')))
    fs.copyFileSync(path.join(bundledProfilesDir(), f), path.join(profiles.dir, f));
  fs.writeFileSync(path.join(profiles.dir, 'flaky-meter.json'), JSON.stringify(FLAKY));
  await start();
});
afterAll(async () => {
  await p?.stop();
  data.remove();
  profiles.remove();
});

const get = async (url: string, key: string) => {
  const res = await fetch(`${p.apiUrl}${url}`, { headers: { authorization: `Bearer ${key}` } });
  expect(res.status, url).toBe(200);
  return res.text();
};

/** The `data:` lines of a live stream, collected until `stop` is called. */
function liveStream(url: string, key: string) {
  const lines: unknown[] = [];
  const abort = new AbortController();
  const done = fetch(url, { headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' }, signal: abort.signal })
    .then(async (res) => {
      const decoder = new TextDecoder();
      let text = '';
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        text += decoder.decode(chunk, { stream: true });
        const blocks = text.split('\n\n');
        text = blocks.pop()!;
        for (const b of blocks) if (b.startsWith('data: ')) lines.push(JSON.parse(b.slice(6)));
      }
    })
    .catch(() => undefined);
  return { lines, stop: () => (abort.abort(), done) };
}

describe('stuck and gap from MQTT to every output', () => {
  it('are set by ingest, stored, and carried by JSON, CSV, NDJSON, the live stream and SensorThings', async () => {
    const company = await p.registry.createCompany(SETUP.scope, 'Flaky Oy');
    const pilot = await p.registry.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'helsinki', name: 'Flaky' });
    const { device, password } = await p.registry.createDevice(SETUP.scope, pilot.id, { profile: FLAKY.id });
    const key = (await p.registry.createCompanyKey(SETUP, company.id)).key;
    const live = liveStream(`${p.apiUrl}/v1/pilots/${pilot.id}/live`, key);
    await eventually(() => (p.ingest.live.subscribers > 0 ? true : undefined));

    const client = await mqtt.connectAsync(p.mqttUrl, { username: device.username, password, reconnectPeriod: 0 });
    const topic = `devices/${device.id}/readings`;
    for (const humidity of [40, 41, 42]) await client.publishAsync(topic, JSON.stringify({ temperature: 20, humidity }), { qos: 1 });
    await new Promise((r) => setTimeout(r, SILENCE_MS));
    await client.publishAsync(topic, JSON.stringify({ temperature: 21, humidity: 43 }), { qos: 1 });

    const readings = await eventually(async () => {
      const rows = JSON.parse(await get(`/v1/devices/${device.id}/readings`, key)).readings as Record<string, unknown>[];
      return rows.length === 4 ? rows : undefined;
    });
    expect(readings.map(({ time: _t, ...r }) => r)).toStrictEqual([
      { values: { humidity: 40, temperature: 20 } },
      { values: { humidity: 41, temperature: 20 } },
      { values: { humidity: 42, temperature: 20 }, stuck: ['temperature'] },
      { values: { humidity: 43, temperature: 21 }, gap: true },
    ]);

    const csv = parseCsv(await get(`/v1/devices/${device.id}/readings?format=csv`, key)).records.map((r) => r.fields);
    expect(csv[0]!.slice(-3)).toEqual(['suspect', 'stuck', 'gap']);
    expect(csv.slice(1).map((row) => row.slice(-3))).toEqual([
      ['', '', ''],
      ['', '', ''],
      ['', 'temperature', ''],
      ['', '', 'true'],
    ]);

    const ndjson = (await get(`/v1/devices/${device.id}/readings?format=ndjson`, key)).trimEnd().split('\n');
    expect(ndjson.map((l) => JSON.parse(l) as unknown)).toEqual(readings.map((r) => ({ ...r, deviceId: device.id })));

    await eventually(() => (live.lines.length === 4 ? true : undefined));
    await live.stop();
    expect(live.lines).toEqual(readings.map((r) => ({ ...r, deviceId: device.id })));

    const sta = JSON.parse(await get(`/sta/v1.1/Datastreams('${device.id}~temperature')/Observations?$orderby=phenomenonTime asc`, key)) as {
      value: { resultQuality: unknown }[];
    };
    expect(sta.value.map((o) => o.resultQuality)).toEqual([
      { suspect: false },
      { suspect: false },
      { suspect: false, stuck: true },
      { suspect: false, gap: true },
    ]);
    await client.endAsync();
  }, 20_000);

  it('flags the first reading after a restart that ended a silence as a gap', async () => {
    const company = await p.registry.createCompany(SETUP.scope, 'Restart Oy');
    const pilot = await p.registry.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'helsinki', name: 'Restart' });
    const { device, password } = await p.registry.createDevice(SETUP.scope, pilot.id, { profile: FLAKY.id });
    const key = (await p.registry.createCompanyKey(SETUP, company.id)).key;
    const publish = async (temperature: number) => {
      const client = await mqtt.connectAsync(p.mqttUrl, { username: device.username, password, reconnectPeriod: 0 });
      await client.publishAsync(`devices/${device.id}/readings`, JSON.stringify({ temperature }), { qos: 1 });
      await client.endAsync();
    };
    await publish(1);
    await eventually(async () => ((await p.registry.getDeviceHealth(SETUP.scope, device.id))?.lastReadingAt ? true : undefined));
    await p.stop();
    await new Promise((r) => setTimeout(r, SILENCE_MS));
    await start();
    await publish(2);
    const rows = await eventually(async () => {
      const list = JSON.parse(await get(`/v1/devices/${device.id}/readings`, key)).readings as Record<string, unknown>[];
      return list.length === 2 ? list : undefined;
    });
    expect(rows[1]).toMatchObject({ values: { temperature: 2 }, gap: true });
  }, 20_000);
});
