import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestPipeline, type TestPipeline } from './helpers/pipeline.js';
import { startInfluxd, type Influxd } from './helpers/influxd.js';
import { eventually } from './helpers/wait.js';

const run = promisify(execFile);

/**
 * The issue's user story, end to end over real sockets: a company, a pilot and
 * a device made through the HTTP API; readings published with a stock MQTT
 * client that is not this project's (mosquitto_pub); everything read back
 * through the API; a second company sees none of it.
 */
function endToEnd(
  name: string,
  setup: () => Promise<{ env: Record<string, string>; inStore?: (deviceId: string) => Promise<number>; close(): Promise<void> }>,
) {
  describe(name, () => {
    let p: TestPipeline;
    let ctx: Awaited<ReturnType<typeof setup>>;

    beforeAll(async () => {
      ctx = await setup();
      p = await startTestPipeline(ctx.env);
    });
    afterAll(async () => {
      await p?.close();
      await ctx?.close();
    });

    async function api(method: string, path: string, key: string, body?: unknown) {
      const res = await fetch(`${p.apiUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    }

    async function mosquittoPub(username: string, password: string, topic: string, message: string) {
      const port = String(p.gateway.port!);
      return run('mosquitto_pub', ['-h', '127.0.0.1', '-p', port, '-V', 'mqttv311', '-q', '1', '-u', username, '-P', password, '-t', topic, '-m', message]);
    }

    it('takes readings from a stock MQTT client to the API, scoped to their company', async () => {
      const company = await api('POST', '/v1/companies', ADMIN_TOKEN, { name: 'Ilmanlaatu Oy' });
      expect(company.status).toBe(201);
      const key = await api('POST', `/v1/companies/${company.body.id}/keys`, ADMIN_TOKEN, {});
      expect(key.status).toBe(201);
      const pilot = await api('POST', '/v1/pilots', ADMIN_TOKEN, { companyId: company.body.id, testbedId: 'helsinki', name: 'Mannerheimintie air' });
      expect(pilot.status).toBe(201);
      const device = await api('POST', `/v1/pilots/${pilot.body.id}/devices`, key.body.key, { profile: 'air-quality', name: 'pole 17' });
      expect(device.status).toBe(201);
      // Without TESTBED_PUBLIC_MQTT_URL, devices are told this gateway's own address.
      expect(device.body.mqtt.url).toBe(p.mqttUrl);
      const { username, password } = device.body.mqtt as { username: string; password: string };
      const topic = `devices/${device.body.id}/readings`;

      const sent = [
        { pm25: 3.25, pm10: 7.5, time: '2026-10-01T06:00:00.000Z' },
        { pm25: 41, temperature: -2.5, humidity: 95.5, time: '2026-10-01T06:01:00.000Z' },
        { pm10: 0, time: '2026-10-01T06:02:00.000Z' },
      ];
      for (const reading of sent) await mosquittoPub(username, password, topic, JSON.stringify(reading));
      await mosquittoPub(username, password, topic, '{"pm25": 2000}');
      await mosquittoPub(username, password, topic, 'hello');

      const readings = await eventually(
        async () => {
          const r = await api('GET', `/v1/devices/${device.body.id}/readings?from=2026-10-01T00:00:00Z`, key.body.key);
          return r.body.readings?.length === 3 ? r.body.readings : undefined;
        },
        10_000,
        'three readings through the API',
      );
      expect(readings).toEqual(sent.map(({ time, ...values }) => ({ time, values })));

      const rejections = await eventually(
        async () => {
          const r = await api('GET', `/v1/devices/${device.body.id}/rejections`, key.body.key);
          return r.body.rejections?.length === 2 ? r.body.rejections : undefined;
        },
        10_000,
        'two rejections through the API',
      );
      expect(rejections.map((r: { code: string }) => r.code)).toEqual(['TESTBED_READING_OUT_OF_RANGE', 'TESTBED_READING_NOT_JSON']);
      expect(rejections[0].reason).toMatch(/pm25/);
      expect(rejections[1].payload).toBe('hello');

      // A second company's key sees none of it: the device answers like one that does not exist.
      const other = await api('POST', '/v1/companies', ADMIN_TOKEN, { name: 'Kilpailija Oy' });
      const otherKey = await api('POST', `/v1/companies/${other.body.id}/keys`, ADMIN_TOKEN, {});
      for (const path of [
        `/v1/devices/${device.body.id}/readings`,
        `/v1/devices/${device.body.id}/rejections`,
        `/v1/devices/${device.body.id}`,
        `/v1/pilots/${pilot.body.id}`,
      ]) {
        const theirs = await api('GET', path, otherKey.body.key);
        const missing = await api(
          'GET',
          path.replace(String(device.body.id), 'dev_doesnotexist00').replace(String(pilot.body.id), 'pi_doesnotexist000'),
          otherKey.body.key,
        );
        expect(theirs.status, path).toBe(404);
        expect(theirs.body).toEqual(missing.body);
      }

      // A wrong password is refused; so is publishing into another device's topic.
      await expect(mosquittoPub(username, `${password}0`, topic, '{"pm25":1}')).rejects.toThrow();
      const second = await api('POST', `/v1/pilots/${pilot.body.id}/devices`, ADMIN_TOKEN, { profile: 'air-quality' });
      await expect(mosquittoPub(second.body.mqtt.username, second.body.mqtt.password, topic, '{"pm25":1}')).rejects.toThrow();

      if (ctx.inStore) expect(await ctx.inStore(device.body.id)).toBe(3);
    });
  });
}

endToEnd('end to end on the embedded store', async () => ({ env: {}, close: async () => {} }));

endToEnd('end to end on a real InfluxDB', async () => {
  const influxd: Influxd = await startInfluxd();
  return {
    env: { TESTBED_INFLUX_URL: influxd.url, TESTBED_INFLUX_BUCKET: 'e2e' },
    // Counted in InfluxDB itself, not through the pipeline.
    async inStore(deviceId) {
      const res = await fetch(`${influxd.url}/query?db=e2e&q=${encodeURIComponent(`SELECT * FROM "readings" WHERE "device" = '${deviceId}'`)}`);
      const json = (await res.json()) as { results: { series?: { values: unknown[][] }[] }[] };
      return json.results[0]?.series?.[0]?.values.length ?? 0;
    },
    close: () => influxd.stop(),
  };
});
