import { execFile } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../core/topics.js';
import { runSimulation } from '../simulators/run.js';
import { certificateAuthority, selfSignedCert, type TestCert } from './helpers/certs.js';
import { ADMIN_TOKEN, eventually, provision, startTestPipeline, type TestPipeline } from './helpers/pipeline.js';
import { readDevice } from './helpers/readings.js';
import { tempDir } from './helpers/tmp.js';

const run = promisify(execFile);

describe('listeners: MQTT over TLS and WebSocket, the API over HTTPS', () => {
  const tmp = tempDir('testbed-tls-');
  let cert: TestCert;
  let p: TestPipeline;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    cert = selfSignedCert(tmp.dir);
    p = await startTestPipeline({
      TESTBED_MQTT_PORT: 'off',
      TESTBED_MQTTS_PORT: '0',
      TESTBED_HTTPS: 'on',
      TESTBED_TLS_CERT: cert.cert,
      TESTBED_TLS_KEY: cert.key,
    });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await p.close();
    tmp.remove();
  });

  async function connect(url: string, username: string, password: string, options: IClientOptions = {}): Promise<MqttClient> {
    const client = await mqtt.connectAsync(url, { username, password, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ca: cert.pem, ...options });
    clients.push(client);
    return client;
  }

  async function stored(deviceId: string, count: number) {
    return eventually(async () => {
      const rows = await readDevice(p.stores.readings, deviceId, { limit: 10 });
      return rows.length === count ? rows : undefined;
    });
  }

  it('has no plain listener when TESTBED_MQTT_PORT=off, and names the TLS and WebSocket URLs', () => {
    expect(p.gateway.port).toBeUndefined();
    expect(p.mqttsUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    expect(p.mqttUrl).toBe(p.mqttsUrl);
    expect(p.wsUrl).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/mqtt$/);
  });

  it('takes readings at QoS 1 over mqtts:// and over wss://.../mqtt, with the same credentials check', async () => {
    const { devices } = await provision(p, 'noise', 2);
    const [a, b] = devices as [(typeof devices)[0], (typeof devices)[0]];
    const overTls = await connect(p.mqttsUrl!, a.device.username, a.password);
    await overTls.publishAsync(deviceTopic(a.device.id, 'readings'), JSON.stringify({ laeq: 50 }), { qos: 1 });
    const overWs = await connect(p.wsUrl, b.device.username, b.password);
    await overWs.publishAsync(deviceTopic(b.device.id, 'readings'), JSON.stringify({ laeq: 51 }), { qos: 1 });
    expect((await stored(a.device.id, 1))[0]!.values).toEqual({ laeq: 50 });
    expect((await stored(b.device.id, 1))[0]!.values).toEqual({ laeq: 51 });
    await expect(connect(p.wsUrl, b.device.username, 'wrong-password')).rejects.toMatchObject({ code: 4 });
    await expect(connect(p.mqttsUrl!, a.device.username, 'wrong-password')).rejects.toMatchObject({ code: 4 });
  });

  it('applies the topic policy over WebSocket: a publish to another device closes the connection', async () => {
    const { devices } = await provision(p, 'noise', 2);
    const [a, b] = devices as [(typeof devices)[0], (typeof devices)[0]];
    const client = await connect(p.wsUrl, a.device.username, a.password);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish(deviceTopic(b.device.id, 'readings'), JSON.stringify({ laeq: 1 }), { qos: 1 });
    await closed;
  });

  it('refuses TLS 1.1 and offers TLS 1.2', async () => {
    const port = p.gateway.tlsPort!;
    const handshake = (maxVersion: tls.SecureVersion) =>
      new Promise<string>((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port, ca: cert.pem, minVersion: 'TLSv1', maxVersion }, () => {
          resolve(socket.getProtocol() ?? '');
          socket.destroy();
        });
        socket.once('error', reject);
      });
    await expect(handshake('TLSv1.1')).rejects.toThrow();
    expect(await handshake('TLSv1.2')).toBe('TLSv1.2');
  });

  it('serves the API over HTTPS', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      https
        .get(`${p.apiUrl}/v1/health`, { ca: cert.pem, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .once('error', reject);
    });
    expect(p.apiUrl).toMatch(/^https:/);
    expect(status).toBe(200);
  });

  it('takes a reading from mosquitto_pub over TLS, verified against the CA, and acknowledges it', async () => {
    const { devices } = await provision(p, 'noise', 1);
    const { device, password } = devices[0]!;
    const { hostname, port } = new URL(p.mqttsUrl!);
    const publish = (cafile: string, message: string) =>
      run('mosquitto_pub', [
        ...['-d', '-h', hostname, '-p', port, '--cafile', cafile, '-V', 'mqttv311', '-q', '1'],
        ...['-u', device.username, '-P', password, '-t', deviceTopic(device.id, 'readings'), '-m', message],
      ]);
    // -d prints the packets: the PUBACK is the gateway's acknowledgement. (Debian's mosquitto_pub has no WebSocket transport.)
    const { stdout } = await publish(cert.cert, '{"laeq":52.5}');
    expect(stdout).toMatch(/received PUBACK \(Mid: \d+, RC:0\)/);
    expect((await stored(device.id, 1))[0]!.values).toEqual({ laeq: 52.5 });
    // Trusting another CA, the handshake fails: the certificate is checked, not waved through.
    await expect(publish(certificateAuthority(tmp.dir, 'other-ca').cert, '{"laeq":53}')).rejects.toMatchObject({ code: expect.any(Number) });
    expect(await readDevice(p.stores.readings, device.id, { limit: 10 })).toHaveLength(1);
  });

  it('takes readings from Eclipse Paho (Python) over TLS and over WebSocket with TLS, acknowledged and stored', async () => {
    const { devices } = await provision(p, 'noise', 2);
    const script = fileURLToPath(new URL('./helpers/paho-publish.py', import.meta.url));
    const over = async (transport: 'tcp' | 'websockets', url: string, i: number, value: number) => {
      const { device, password } = devices[i]!;
      const { hostname, port } = new URL(url);
      // Debian's interpreter, where python3-paho-mqtt is installed (scripts/test.sh).
      const { stdout } = await run('/usr/bin/python3', [
        ...[script, transport, hostname, port, cert.cert, device.username, password],
        ...[deviceTopic(device.id, 'readings'), JSON.stringify({ laeq: value })],
      ]);
      expect(stdout.trim()).toBe('PUBACK');
      expect((await stored(device.id, 1))[0]!.values).toEqual({ laeq: value });
    };
    await over('tcp', p.mqttsUrl!, 0, 44.5);
    await over('websockets', p.wsUrl!, 1, 45.5);
    // A wrong password is refused at CONNECT: the script reports it and nothing is stored.
    const { device } = devices[0]!;
    const { hostname, port } = new URL(p.mqttsUrl!);
    await expect(
      run('/usr/bin/python3', [script, 'tcp', hostname, port, cert.cert, device.username, 'wrong', deviceTopic(device.id, 'readings'), '{"laeq":1}']),
    ).rejects.toMatchObject({ code: 1 });
    expect(await readDevice(p.stores.readings, device.id, { limit: 10 })).toHaveLength(1);
  });

  it('takes a renewed certificate for new connections without dropping open ones', async () => {
    const { devices } = await provision(p, 'noise', 1);
    const { device, password } = devices[0]!;
    const before = await connect(p.mqttsUrl!, device.username, password);
    const renewed = selfSignedCert(tmp.dir, 'renewed', 'renewed.local');
    fs.copyFileSync(renewed.key, cert.key);
    fs.copyFileSync(renewed.cert, cert.cert);
    // The file watch polls every 2 s; a connection trusting only the new certificate succeeds once it is in use.
    const after = await eventually(
      () => connect(p.mqttsUrl!, device.username, password, { ca: renewed.pem, clientId: 'second' }).catch(() => undefined),
      10_000,
      'a handshake with the renewed certificate',
    );
    expect(before.connected).toBe(true);
    await before.publishAsync(deviceTopic(device.id, 'readings'), JSON.stringify({ laeq: 60 }), { qos: 1 });
    await after.publishAsync(deviceTopic(device.id, 'readings'), JSON.stringify({ laeq: 61 }), { qos: 1 });
    await stored(device.id, 2);
  });

  it('runs the simulators over mqtts:// and wss:// with a private CA', async () => {
    for (const url of [p.mqttsUrl!, p.wsUrl]) {
      const { devices } = await provision(p, 'noise', 1);
      const { device, password } = devices[0]!;
      const credentials = { deviceId: device.id, username: device.username, password, profile: 'noise' };
      const summary = await runSimulation({
        url,
        ca: fs.readFileSync(cert.cert), // the certificate in use now (a test above renews it)
        devices: [{ credentials, profile: p.profiles.get('noise')!.profile }],
        rate: 20,
        count: 3,
        qos: 1,
      });
      expect(summary).toMatchObject({ connected: 1, sent: 3, acknowledged: 3, errors: 0 });
    }
  });
});
