import net from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

/**
 * An MQTT client whose TCP connection comes from `localAddress` (any of
 * 127.0.0.0/8 on Linux), so a test can play clients at different addresses.
 */
export function connectFrom(url: string, localAddress: string, options: IClientOptions): Promise<MqttClient> {
  const { port, hostname } = new URL(url);
  const client = new mqtt.MqttClient(() => net.connect({ port: Number(port), host: hostname, localAddress }), {
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...options,
  });
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
    client.once('close', () => reject(Object.assign(new Error('closed before CONNACK'), { code: undefined })));
  });
}

/** The CONNACK return code a CONNECT from `localAddress` gets (0: accepted), closing the client at once. */
export async function connackFrom(
  url: string,
  localAddress: string,
  username: string,
  password: string,
  options: IClientOptions = {},
): Promise<number | undefined> {
  try {
    const client = await connectFrom(url, localAddress, { username, password, ...options });
    await client.endAsync(true);
    return 0;
  } catch (err) {
    return (err as { code?: number }).code;
  }
}

/** A raw TCP socket from `localAddress`, resolved once connected. */
export function socketFrom(port: number, localAddress: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves with the ms until `socket` closes (it is read, so a server's answer does not hold it open). */
export function closedWithin(socket: net.Socket): Promise<number> {
  const started = Date.now();
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve(0);
    socket.on('error', () => {});
    socket.once('close', () => resolve(Date.now() - started));
    socket.resume();
  });
}
