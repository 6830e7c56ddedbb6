/**
 * A child process of the connections bench holding many MQTT connections as
 * raw frames over `net` sockets: a CONNECT written with mqtt-packet, the
 * CONNACK read back, a PINGREQ now and then so that the gateway's keepalive
 * never closes them. One mqtt.js client per connection would cost the load
 * generator more than the gateway. Driven over IPC by bench/connections.ts.
 */
import net from 'node:net';
import { connectFrame } from './raw-publisher.js';

/** What the parent sends: the devices to connect and how. */
export interface ConnectOrder {
  readonly type: 'connect';
  readonly port: number;
  readonly host: string;
  /** Source addresses to spread the sockets over, one socket per address in turn. */
  readonly localAddresses: readonly string[];
  readonly devices: readonly { readonly username: string; readonly password: string }[];
  /** Connections in flight at once; 0 for all at once (a connect storm). */
  readonly concurrency: number;
  readonly keepaliveSeconds: number;
}

/** What the child answers once every connection has a CONNACK or failed. */
export interface ConnectReport {
  readonly type: 'connected';
  readonly accepted: number;
  /** CONNACK return codes other than 0, socket errors and timeouts, by what happened. */
  readonly failed: Record<string, number>;
  /** performance.timeOrigin + now() of the last CONNACK. */
  readonly lastAt: number;
}

const CONNACK_TIMEOUT_MS = 60_000;
const PINGREQ = Buffer.from([0xc0, 0x00]);
const sockets = new Set<net.Socket>();
/** Accepted connections the gateway has closed since the last drop: an idle count that includes them would be wrong. */
let lost = 0;

/** Opens one connection; resolves with the CONNACK return code as text ('0' is accepted) or what went wrong. */
function connectOne(order: ConnectOrder, n: number): Promise<string> {
  const device = order.devices[n]!;
  const localAddress = order.localAddresses[n % order.localAddresses.length];
  return new Promise((resolve) => {
    const socket = net.connect({ host: order.host, port: order.port, localAddress });
    let settled = false;
    const done = (outcome: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (outcome === '0') {
        sockets.add(socket);
        // Still held when it closes: the gateway closed it, not a drop.
        socket.once('close', () => {
          if (sockets.delete(socket)) lost++;
        });
      } else socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => done('no CONNACK in 60 s'), CONNACK_TIMEOUT_MS);
    socket.once('connect', () => socket.write(connectFrame(device.username, device.password, order.keepaliveSeconds)));
    let head = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      if (settled) return;
      head = Buffer.concat([head, chunk]);
      if (head.length < 4) return;
      // CONNACK: 0x20, remaining length 2, session-present flags, return code [MQTT-3.2.2-3].
      done(head[0] === 0x20 ? String(head[3]) : `packet type ${head[0]! >> 4} instead of CONNACK`);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
    socket.on('close', () => done('closed before CONNACK'));
  });
}

async function connectAll(order: ConnectOrder): Promise<ConnectReport> {
  const failed: Record<string, number> = {};
  let accepted = 0;
  let lastAt = 0;
  const record = (outcome: string) => {
    if (outcome === '0') {
      accepted++;
      lastAt = performance.timeOrigin + performance.now();
    } else failed[outcome] = (failed[outcome] ?? 0) + 1;
  };
  const total = order.devices.length;
  if (order.concurrency <= 0) {
    (await Promise.all(order.devices.map((_, n) => connectOne(order, n)))).forEach(record);
  } else {
    let next = 0;
    const worker = async () => {
      while (next < total) record(await connectOne(order, next++));
    };
    await Promise.all(Array.from({ length: Math.min(order.concurrency, total) }, worker));
  }
  return { type: 'connected', accepted, failed, lastAt };
}

// Keep every held connection alive well inside its keepalive, spread over the interval.
let pinger: NodeJS.Timeout | undefined;
process.on('message', (message: ConnectOrder | { type: 'drop' } | { type: 'exit' }) => {
  if (message.type === 'drop' || message.type === 'exit') {
    const held = [...sockets];
    sockets.clear();
    for (const s of held) s.destroy();
    if (message.type === 'exit') {
      clearInterval(pinger);
      process.disconnect();
    } else process.send!({ type: 'dropped', lost });
    lost = 0;
    return;
  }
  // From the first order on, not after it: opening thousands takes longer than a keepalive.
  pinger ??= setInterval(
    () => {
      for (const s of sockets) if (!s.destroyed) s.write(PINGREQ);
    },
    (message.keepaliveSeconds * 1000) / 2,
  );
  void connectAll(message).then((report) => process.send!(report));
});
