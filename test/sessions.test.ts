import fs from 'node:fs';
import type mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { deviceTopic } from '../core/topics.js';
import { ADMIN_TOKEN, eventually, provision, startTestPipeline, type TestPipeline } from './helpers/pipeline.js';
import { RawMqttDevice } from './helpers/raw-mqtt.js';

/*
 * Persistent sessions (clean session = 0) as the README documents them: kept
 * in the gateway's memory while it runs, gone after a restart, which the
 * device learns from CONNACK's session present flag; what matters is in the
 * registry, so a device that subscribes again loses no command. A device that
 * speaks MQTT byte by byte, so the test decides when each PUBACK goes.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CONNACK's session present flag [MQTT-3.2.2-2], [MQTT-3.2.2-3]. */
const sessionPresent = (device: RawMqttDevice) => (device.packets.find((p) => p.cmd === 'connack') as mqttPacket.IConnackPacket).sessionPresent;
const sendCommand = (p: TestPipeline, deviceId: string, body: object) =>
  fetch(`${p.apiUrl}/v1/devices/${deviceId}/commands`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }).then(async (r) => ((await r.json()) as { id: string }).id);
const idIn = (packet: mqttPacket.IPublishPacket) => (JSON.parse(packet.payload.toString()) as { id: string }).id;

describe('persistent sessions while the gateway runs', () => {
  it('delivers to a resumed session, which does not subscribe again, the commands queued while the device was away', async () => {
    const p = await startTestPipeline();
    try {
      const { devices } = await provision(p, 'weather');
      const { device: d, password } = devices[0]!;
      const topic = deviceTopic(d.id, 'commands');
      const session = { clientId: `${d.id}-main`, clean: false };
      const first = await RawMqttDevice.connect(p.mqttUrl, d.username, password, session);
      await first.subscribe(topic, 1);
      await first.drop();
      const away = await sendCommand(p, d.id, { name: 'reboot' });

      const resumed = await RawMqttDevice.connect(p.mqttUrl, d.username, password, session); // no SUBSCRIBE
      expect(sessionPresent(resumed)).toBe(true);
      const [packet] = await eventually(() => (resumed.published(topic).length > 0 ? resumed.published(topic) : undefined), 5000, 'the command');
      expect(idIn(packet!)).toBe(away);
      resumed.puback(packet!.messageId!);
      await eventually(async () => ((await p.registry.getCommand({ kind: 'all' }, d.id, away))?.status === 'delivered' ? true : undefined), 5000, 'delivered');
      await resumed.drop();
    } finally {
      await p.close();
    }
  });
});

describe('persistent sessions across a gateway restart', () => {
  it('resumes a session while the gateway runs; after a restart it is gone, and the device that subscribes again gets every command once', async () => {
    const first = await startTestPipeline();
    const dataDir = first.dataDir;
    const { devices } = await provision(first, 'weather');
    const { device: d, password } = devices[0]!;
    const topic = deviceTopic(d.id, 'commands');
    const session = { clientId: `${d.id}-main`, clean: false };
    const send = (p: TestPipeline, body: object) => sendCommand(p, d.id, body);
    const status = async (p: TestPipeline, id: string) => (await p.registry.getCommand({ kind: 'all' }, d.id, id))?.status;

    const fresh = await RawMqttDevice.connect(first.mqttUrl, d.username, password, session);
    expect(sessionPresent(fresh)).toBe(false);
    expect(await fresh.subscribe(topic, 1)).toEqual([1]);
    await fresh.drop();

    // While the gateway runs, the session (its subscription) is there for the same client id.
    const resumed = await RawMqttDevice.connect(first.mqttUrl, d.username, password, session);
    expect(sessionPresent(resumed)).toBe(true);
    const inFlight = await send(first, { name: 'reboot' });
    await eventually(() => (resumed.published(topic).length > 0 ? true : undefined), 5000, 'the command on the resumed session');
    await resumed.drop(); // no PUBACK: the command is in flight when the power goes
    const queued = await send(first, { name: 'set_interval', params: { seconds: 15 } });
    expect([await status(first, inFlight), await status(first, queued)]).toEqual(['queued', 'queued']);
    await first.stop();

    const second = await startTestPipeline({ TESTBED_DATA_DIR: dataDir });
    try {
      const after = await RawMqttDevice.connect(second.mqttUrl, d.username, password, session);
      expect(sessionPresent(after)).toBe(false);
      await sleep(1200); // a sweep or two: with no subscription in the session, nothing comes
      expect(after.published(topic)).toEqual([]);

      // Session present = 0, so the device subscribes again, as the README tells it to.
      await after.subscribe(topic, 1);
      await eventually(() => (after.published(topic).length >= 2 ? true : undefined), 5000, 'both commands');
      const got = after.published(topic);
      expect(got.map(idIn)).toEqual([inFlight, queued]);
      for (const packet of got) after.puback(packet.messageId!);
      await eventually(
        async () => ((await status(second, inFlight)) === 'delivered' && (await status(second, queued)) === 'delivered' ? true : undefined),
        5000,
        'delivered',
      );
      await sleep(1200);
      expect(after.published(topic)).toHaveLength(2);
      await after.drop();
    } finally {
      await second.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
