import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.js';
import { TestbedError } from '../core/errors.js';

describe('configuration', () => {
  it('has working defaults', () => {
    const config = loadConfig({});
    expect(config.host).toBe('127.0.0.1');
    expect(config.mqtt.port).toBe(1883);
    expect(config.http.port).toBe(8080);
    expect(config.dataDir).toBe(path.resolve('./data'));
    expect(config.influx).toBeUndefined();
    expect(config.adminToken).toBeUndefined();
  });

  it('is frozen, all the way down', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.ingest)).toBe(true);
    expect(() => {
      (config.mqtt as { port: number }).port = 1;
    }).toThrow();
  });

  it('selects InfluxDB when TESTBED_INFLUX_URL is set', () => {
    const config = loadConfig({ TESTBED_INFLUX_URL: 'http://127.0.0.1:8086', TESTBED_INFLUX_TOKEN: 'u:p', TESTBED_INFLUX_BUCKET: 'db/rp' });
    expect(config.influx).toEqual({ url: 'http://127.0.0.1:8086', token: 'u:p', bucket: 'db/rp', org: undefined });
  });

  it('takes the broker address told to devices from TESTBED_PUBLIC_MQTT_URL', () => {
    expect(loadConfig({}).mqtt.publicUrl).toBeUndefined();
    expect(loadConfig({ TESTBED_PUBLIC_MQTT_URL: 'mqtts://testbed.example.org:8883' }).mqtt.publicUrl).toBe('mqtts://testbed.example.org:8883');
    expect(() => loadConfig({ TESTBED_PUBLIC_MQTT_URL: 'http://testbed.example.org' })).toThrow(/TESTBED_PUBLIC_MQTT_URL/);
    expect(() => loadConfig({ TESTBED_PUBLIC_MQTT_URL: 'testbed.example.org:1883' })).toThrow(/TESTBED_PUBLIC_MQTT_URL/);
  });

  it('names the node TESTBED_NODE_ID, else after the host and process', () => {
    expect(loadConfig({}).nodeId).toBe(`${os.hostname()}-${process.pid}`);
    expect(loadConfig({ TESTBED_NODE_ID: '' }).nodeId).toBe(`${os.hostname()}-${process.pid}`);
    expect(loadConfig({ TESTBED_NODE_ID: 'gw-2.hel_a' }).nodeId).toBe('gw-2.hel_a');
    for (const bad of ['-gw', 'gw 2', 'gw/2', 'x'.repeat(65)]) expect(() => loadConfig({ TESTBED_NODE_ID: bad }), bad).toThrow(/TESTBED_NODE_ID/);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ TESTBED_INFLUX_URL: '', TESTBED_ADMIN_TOKEN: '' }).influx).toBeUndefined();
  });

  it('requires the packet limit to exceed the payload limit', () => {
    expect(() => loadConfig({ TESTBED_MAX_PAYLOAD_BYTES: '8192', TESTBED_MAX_PACKET_BYTES: '8192' })).toThrow(/TESTBED_MAX_PACKET_BYTES: must be larger/);
    expect(loadConfig({ TESTBED_MAX_PAYLOAD_BYTES: '8192', TESTBED_MAX_PACKET_BYTES: '8193' }).mqtt.maxPacketBytes).toBe(8193);
  });

  it('lists every problem in one error', () => {
    let error: unknown;
    try {
      loadConfig({
        TESTBED_MQTT_PORT: 'abc',
        TESTBED_HTTP_PORT: '70000',
        TESTBED_INFLUX_URL: 'ftp://x',
        TESTBED_ADMIN_TOKEN: 'short',
        TESTBED_LOG_LEVEL: 'loud',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TestbedError);
    const e = error as TestbedError;
    expect(e.code).toBe('TESTBED_CONFIG_INVALID');
    for (const name of ['TESTBED_MQTT_PORT', 'TESTBED_HTTP_PORT', 'TESTBED_INFLUX_URL', 'TESTBED_ADMIN_TOKEN', 'TESTBED_LOG_LEVEL']) {
      expect(e.message).toContain(name);
    }
  });
});
