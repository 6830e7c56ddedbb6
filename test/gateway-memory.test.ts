import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Aedes, type Client } from 'aedes';
import { BufferList } from 'bl';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leanParserBuffer, releaseConnectPacket } from '../gateway/lean-client.js';
import { OnlineDevices } from '../gateway/online.js';

/** The broker internals the gateway trims per connection (gateway/lean-client.ts): this fails when an upgrade moves them. */
describe('per-connection memory: the broker trimmed as the gateway does it', () => {
  let broker: Aedes;
  let server: net.Server;
  let port: number;
  const clients: Client[] = [];
  beforeAll(async () => {
    broker = await Aedes.createBroker({
      authenticate(client, _username, _password, done) {
        releaseConnectPacket(client);
        done(null, true);
      },
    });
    server = net.createServer((socket) => {
      const client = broker.handle(socket);
      leanParserBuffer(client);
      clients.push(client);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('parses packets split over many reads with the plain byte list, and keeps no password once connected', async () => {
    const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { username: 'u', password: 'secret-password', reconnectPeriod: 0 });
    const listener = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
    try {
      const parser = (clients[0] as unknown as { _parser: { _list: unknown; settings: Record<string, unknown> } })._parser;
      expect(parser._list).toBeInstanceOf(BufferList);
      expect(typeof (parser._list as { pipe?: unknown }).pipe).toBe('undefined'); // not the stream
      expect(parser.settings).toEqual({ protocolVersion: 4 });
      await listener.subscribeAsync('t/#', { qos: 1 });
      const got = new Promise<Buffer>((resolve) => listener.on('message', (_t, payload) => resolve(payload)));
      const payload = Buffer.alloc(200_000, 7); // arrives over many socket reads
      await device.publishAsync('t/big', payload, { qos: 1 });
      expect((await got).equals(payload)).toBe(true);
    } finally {
      await device.endAsync();
      await listener.endAsync();
    }
  });
});

describe('online devices', () => {
  it('keeps one connection as itself, several as a set, and counts them', () => {
    const online = new OnlineDevices<string>();
    online.add('d', 'a');
    online.add('d', 'a');
    expect(online.count('d')).toBe(1);
    online.add('d', 'b');
    expect(online.of('d').sort()).toEqual(['a', 'b']);
    online.delete('d', 'a');
    expect(online.of('d')).toEqual(['b']);
    online.delete('d', 'x');
    expect(online.count('d')).toBe(1);
    online.delete('d', 'b');
    expect(online.count('d')).toBe(0);
    expect(online.of('d')).toEqual([]);
  });
});
