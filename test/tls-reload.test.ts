import fs from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../core/topics.js';
import { certificateAuthority, clientCert, selfSignedCert, type TestCert } from './helpers/certs.js';
import { eventually, provision, startTestPipeline, type TestPipeline } from './helpers/pipeline.js';
import { readDevice } from './helpers/readings.js';
import { tempDir } from './helpers/tmp.js';

const FIXED_TIME = 1_700_000_000;

describe('TLS: certificate reload on SIGHUP, and client certificates from TESTBED_TLS_CA', () => {
  const tmp = tempDir('testbed-tls-reload-');
  let server: TestCert;
  let ca: TestCert;
  let p: TestPipeline;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    server = selfSignedCert(tmp.dir);
    ca = certificateAuthority(tmp.dir, 'device-ca');
    // Whole seconds, so that the SIGHUP test can put them back exactly.
    for (const file of [server.cert, server.key]) fs.utimesSync(file, FIXED_TIME, FIXED_TIME);
    p = await startTestPipeline({ TESTBED_MQTTS_PORT: '0', TESTBED_TLS_CERT: server.cert, TESTBED_TLS_KEY: server.key, TESTBED_TLS_CA: ca.cert });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await p?.close();
    tmp.remove();
  });

  const connect = async (username: string, password: string, options: IClientOptions) => {
    const client = await mqtt.connectAsync(p.mqttsUrl!, { username, password, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...options });
    clients.push(client);
    return client;
  };

  it('takes a renewed certificate on SIGHUP for new connections, without dropping open ones', async () => {
    const { device, password } = (await provision(p, 'noise', 1)).devices[0]!;
    const before = await connect(device.username, password, { ca: server.pem, clientId: 'before' });
    const renewed = selfSignedCert(tmp.dir, 'renewed', 'renewed.local');
    // The files change but keep their modification times: only the signal can tell the gateway.
    fs.copyFileSync(renewed.key, server.key);
    fs.copyFileSync(renewed.cert, server.cert);
    for (const file of [server.cert, server.key]) fs.utimesSync(file, FIXED_TIME, FIXED_TIME);
    await new Promise((r) => setTimeout(r, 2500)); // longer than the file watch's poll
    await expect(connect(device.username, password, { ca: renewed.pem, clientId: 'early' })).rejects.toThrow();

    process.kill(process.pid, 'SIGHUP');
    const after = await eventually(
      () => connect(device.username, password, { ca: renewed.pem, clientId: 'after' }).catch(() => undefined),
      5000,
      'a handshake with the renewed certificate',
    );
    expect(before.connected).toBe(true);
    await before.publishAsync(deviceTopic(device.id, 'readings'), JSON.stringify({ laeq: 60 }), { qos: 1 });
    await after.publishAsync(deviceTopic(device.id, 'readings'), JSON.stringify({ laeq: 61 }), { qos: 1 });
    await eventually(async () => ((await readDevice(p.stores.readings, device.id, { limit: 10 })).length === 2 ? true : undefined));
    server = { ...server, pem: renewed.pem };
  });

  it('lets in a client certificate the CA signed, or none (the password decides), and closes one another CA signed', async () => {
    const { device, password } = (await provision(p, 'noise', 1)).devices[0]!;
    const signed = clientCert(tmp.dir, ca, 'device-1');
    const stranger = clientCert(tmp.dir, certificateAuthority(tmp.dir, 'other-ca'), 'device-2');
    const withSigned = await connect(device.username, password, { ca: server.pem, ...signed, clientId: 'signed' });
    await withSigned.publishAsync(deviceTopic(device.id, 'readings'), JSON.stringify({ laeq: 70 }), { qos: 1 });
    expect((await connect(device.username, password, { ca: server.pem, clientId: 'none' })).connected).toBe(true);
    // The handshake completes (TLS 1.3 sends the client's certificate after it), then the gateway closes the socket.
    const refused = mqtt.connect(p.mqttsUrl!, { username: device.username, password, ca: server.pem, ...stranger, clientId: 'stranger', reconnectPeriod: 0 });
    const outcome = await new Promise<string>((resolve) => {
      refused.once('connect', () => resolve('connected'));
      refused.once('close', () => resolve('closed'));
      refused.once('error', () => resolve('closed'));
    });
    refused.end(true);
    expect(outcome).toBe('closed');
    // A certificate does not replace the password.
    await expect(connect(device.username, 'wrong', { ca: server.pem, ...signed, clientId: 'nopass' })).rejects.toMatchObject({ code: 4 });
  });
});
