/**
 * A device publishing readings as raw MQTT frames over a `net` socket, for the
 * throughput bench: the frames are made with mqtt-packet, and what comes back
 * is only framed (fixed header, remaining length), so the load generator
 * spends little of the shared cores on each reading. mqtt.js spent about
 * 20 µs of CPU per QoS 1 reading (7 at QoS 0), more than half of what the
 * gateway spends, on the same two cores.
 */
import net from 'node:net';
import { generate } from 'mqtt-packet';

const CONNACK = 2;
const PUBLISH = 3;
const PUBACK = 4;
const SUBACK = 9;

/** One connection: CONNECT sent and CONNACK 0 read; then `onPacket` gets each packet's type, flags and body. */
export class RawConnection {
  readonly #socket: net.Socket;
  #rest: Buffer | undefined;
  onPacket: (type: number, flags: number, body: Buffer) => void = () => undefined;
  /** Called when the socket closes or fails, whoever closed it. */
  onClosed: (reason: string) => void = () => undefined;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#frame(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => this.onClosed(err.code ?? err.message));
    socket.on('close', () => this.onClosed('closed'));
  }

  /** Connects and authenticates (MQTT 3.1.1, clean session); rejects on anything but CONNACK 0. */
  static open(url: string, username: string, password: string): Promise<RawConnection> {
    const { hostname, port } = new URL(url);
    const socket = net.connect({ host: hostname, port: Number(port) });
    const connection = new RawConnection(socket);
    return new Promise((resolve, reject) => {
      connection.onClosed = (reason) => reject(new Error(`${reason} before CONNACK`));
      connection.onPacket = (type, _flags, body) => {
        if (type === CONNACK && body[1] === 0) resolve(connection);
        else reject(new Error(`CONNACK ${type === CONNACK ? body[1] : `missing (packet type ${type})`}`));
      };
      socket.once('connect', () => socket.write(connectFrame(username, password, 60)));
    });
  }

  write(frames: Buffer, done?: () => void): void {
    this.#socket.write(frames, done);
  }

  /** Subscribes to `topic` at QoS 0; resolves at SUBACK. */
  subscribe(topic: string): Promise<void> {
    return new Promise((resolve) => {
      const previous = this.onPacket;
      this.onPacket = (type, flags, body) => {
        if (type !== SUBACK) return previous(type, flags, body);
        this.onPacket = previous;
        resolve();
      };
      this.#socket.write(generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 0 }] }));
    });
  }

  /** Sends DISCONNECT and waits for the socket to close. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.onClosed = () => resolve();
      this.#socket.end(Buffer.from([0xe0, 0x00]));
    });
  }

  #frame(chunk: Buffer): void {
    const buf = this.#rest ? Buffer.concat([this.#rest, chunk]) : chunk;
    this.#rest = undefined;
    let i = 0;
    while (i < buf.length) {
      let length = 0;
      let at = i + 1;
      let shift = 0;
      let byte = 0x80;
      while (byte & 0x80 && at < buf.length) {
        byte = buf[at++]!;
        length += (byte & 0x7f) << shift;
        shift += 7;
      }
      if (byte & 0x80 || at + length > buf.length) {
        this.#rest = buf.subarray(i);
        return;
      }
      this.onPacket(buf[i]! >> 4, buf[i]! & 0x0f, buf.subarray(at, at + length));
      i = at + length;
    }
  }
}

/** A CONNECT frame: MQTT 3.1.1, clean session, client id `bench-<username>`. */
export function connectFrame(username: string, password: string, keepaliveSeconds: number): Buffer {
  return generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    clientId: `bench-${username}`,
    keepalive: keepaliveSeconds,
    username,
    password: Buffer.from(password),
  });
}

/** A PUBLISH frame [MQTT-3.3]: QoS 0 or 1, no DUP, no retain; the packet identifier only at QoS 1. */
function publishFrame(topic: Buffer, payload: Buffer, qos: 0 | 1, messageId: number): Buffer {
  const length = 2 + topic.length + (qos === 1 ? 2 : 0) + payload.length;
  const lengthBytes: number[] = [];
  let rest = length;
  do {
    let byte = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) byte |= 0x80;
    lengthBytes.push(byte);
  } while (rest > 0);
  const frame = Buffer.allocUnsafe(1 + lengthBytes.length + length);
  let at = frame.writeUInt8((PUBLISH << 4) | (qos << 1), 0);
  for (const byte of lengthBytes) at = frame.writeUInt8(byte, at);
  at = frame.writeUInt16BE(topic.length, at);
  at += topic.copy(frame, at);
  if (qos === 1) at = frame.writeUInt16BE(messageId, at);
  payload.copy(frame, at);
  return frame;
}

/**
 * Publishes `count` readings on `topic` (the n-th payload is `payload(n)`),
 * at most `window` unacknowledged at once (QoS 1; as a device's MQTT stack
 * keeps a window in flight), the frames written together as acknowledgements
 * free the window. Resolves once every one is acknowledged (QoS 1) or written
 * (QoS 0). Rejects if a PUBACK names a message not in flight.
 */
export function publishRaw(connection: RawConnection, topic: string, count: number, window: number, qos: 0 | 1, payload: (n: number) => string): Promise<void> {
  const topicBytes = Buffer.from(topic);
  // Packet identifiers 1..window, each reused once its PUBACK is back: at most `window` in flight.
  const frameOf = (n: number) => publishFrame(topicBytes, Buffer.from(payload(n)), qos, (n % window) + 1);
  if (qos === 0) {
    return new Promise((resolve, reject) => {
      const frames: Buffer[] = [];
      for (let n = 0; n < count; n++) frames.push(frameOf(n));
      connection.onClosed = (reason) => reject(new Error(`${reason} while publishing at QoS 0`));
      connection.write(Buffer.concat(frames), () => {
        connection.onClosed = () => undefined;
        resolve();
      });
    });
  }
  return new Promise((resolve, reject) => {
    let sent = 0;
    let acknowledged = 0;
    let failed = false;
    let filling = false;
    const inFlight = new Set<number>();
    const fail = (message: string) => {
      failed = true;
      reject(new Error(message));
    };
    // The window refilled once per chunk read (its PUBACKs come together), in one write.
    const fill = () => {
      filling = false;
      const frames: Buffer[] = [];
      while (!failed && sent < count && sent - acknowledged < window) {
        const id = (sent % window) + 1;
        if (inFlight.has(id)) return fail(`packet identifier ${id} is still in flight (PUBACKs out of order)`);
        inFlight.add(id);
        frames.push(frameOf(sent++));
      }
      if (frames.length > 0) connection.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
    };
    connection.onClosed = (reason) => {
      if (acknowledged < count) fail(`${reason} after ${acknowledged} of ${count} PUBACKs`);
    };
    connection.onPacket = (type, _flags, body) => {
      if (type !== PUBACK || failed) return;
      const id = body.readUInt16BE(0);
      if (!inFlight.delete(id)) return fail(`PUBACK for ${id}, not in flight`);
      if (++acknowledged === count) return resolve();
      if (!filling) {
        filling = true;
        queueMicrotask(fill);
      }
    };
    fill();
  });
}

/** Counts the PUBLISH packets a connection receives (a subscriber of the bare broker's relay). */
export function countPublishes(connection: RawConnection, onCount: (n: number) => void): void {
  let n = 0;
  connection.onPacket = (type) => {
    if (type === PUBLISH) onCount(++n);
  };
}
