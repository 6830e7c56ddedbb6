import type { Duplex } from 'node:stream';
import type { EventEmitter } from 'node:events';
import type { Client } from 'aedes';
import type { ReceiveReading, Session } from './hooks.js';

/** A PUBLISH as the broker's packet parser (mqtt-packet) emits it. */
interface ParsedPacket {
  readonly cmd: string;
  readonly topic: string;
  readonly payload: Buffer | string;
  readonly qos: number;
  readonly messageId?: number | undefined;
  readonly dup: boolean;
}

/**
 * The parts of an Aedes connection the readings path works with. Aedes reads
 * a socket chunk, parses it and reads the next one only once every packet of
 * the chunk has called back (`_parsingBatch` counts them, `_nextBatch` is the
 * callback); a readings PUBLISH taken here keeps that accounting, so a device
 * is still read no faster than its readings are taken.
 */
interface Connection {
  readonly _parser: EventEmitter;
  _parsingBatch: number;
  _nextBatch(error?: Error | null): void;
  readonly _keepaliveInterval: number;
  readonly _keepaliveTimer: NodeJS.Timeout | null;
  readonly connackSent: boolean;
  /** The protocol level from CONNECT (3, 4 or 5). */
  readonly version: number | null;
  readonly closed: boolean;
  readonly errored: boolean;
  readonly conn: Duplex;
  waitForDrain(callback: (error?: Error | null) => void): void;
}

/** PUBACK [MQTT-3.4]: fixed header 0x40, remaining length 2, then the packet identifier. */
const PUBACK = 0x40;
/** PUBLISH [MQTT-3.3.1]: packet type 3 in the high nibble; DUP is bit 3, QoS bits 2-1. */
const PUBLISH = 3;
/**
 * The tail of a chunk that ends inside a packet is kept and joined to the next
 * chunk when the packet is at most this long; a longer one (never a reading:
 * payloads are capped far below) is left to the packet parser, which gathers
 * its body without copying it again for every chunk.
 */
const REST_MAX_BYTES = 64 * 1024;

/** The packet parser's parts the framing needs: its `parse`, and whether it holds part of a packet. */
interface Parser extends EventEmitter {
  parse(chunk: Buffer): number;
  readonly _list: { readonly length: number };
}

/**
 * Takes a connection's PUBLISH packets on its own readings topic (QoS 0 or 1,
 * once CONNACK is sent) straight to `receive`, and writes the PUBACK itself,
 * instead of passing each through the packet parser and the broker's publish
 * path: a packet object and a topic string per message, then its authorisation
 * hook, the PUBACK written as a packet object, then a publish to subscribers
 * (a packet copy, the session store asked for offline subscribers, the router,
 * the 'publish' event), all for a message that nobody may receive.
 *
 * Each chunk the broker reads is framed here (fixed header, remaining length
 * [MQTT-2.2]): a readings PUBLISH is recognised by comparing its topic bytes
 * with the device's own, and its payload is a view of the chunk. Every other
 * packet, a PUBLISH elsewhere included (closed by the topic policy in the
 * hook), is handed whole, in order, to the broker's parser, as is everything
 * before CONNACK and everything on MQTT 5 (whose PUBLISH carries properties).
 * What a reading goes through is the same either way: `receive` is what the
 * hook calls for readings.
 */
export function takeReadings(client: Client, sessionOf: (client: Client) => Session | undefined, receive: ReceiveReading): void {
  const c = client as unknown as Connection;
  const parser = c._parser as Parser;
  const [enqueue] = parser.listeners('packet') as ((this: EventEmitter, packet: ParsedPacket) => void)[];
  if (!enqueue) return;
  // Made at the first QoS 1 reading, and the topic's bytes at the first reading: an idle connection carries neither.
  let acks: Acknowledgements | undefined;
  let topic: { readonly session: Session; readonly bytes: Buffer } | undefined;
  // The start of a packet the last chunk ended in, or how many bytes of a long one the parser is still owed.
  let rest: Buffer | undefined;
  let owed = 0;
  const parse = parser.parse.bind(parser);

  const take = (session: Session, payload: Buffer, qos: number, messageId: number | undefined, dup: boolean) => {
    c._parsingBatch++;
    const packet = { payload, qos, messageId, dup };
    // Aedes's own callback (it needs no `this`): nothing to acknowledge at QoS 0.
    if (qos === 0) return receive(client, session, packet, c._nextBatch);
    receive(client, session, packet, (error) => (error ? c._nextBatch(error) : (acks ??= new Acknowledgements(c)).add(messageId!)));
  };

  parser.removeListener('packet', enqueue);
  // Packets the parser is handed: a reading among them (sent before CONNACK and parsed then, or on MQTT 5) takes the same path.
  parser.on('packet', function readingOrBroker(this: EventEmitter, packet: ParsedPacket) {
    // Packets before CONNACK wait in the broker's queue, in order; they take its path.
    const session = packet.cmd === 'publish' && packet.qos < 2 && c.connackSent && !c.closed ? sessionOf(client) : undefined;
    if (!session || packet.topic !== session.readingsTopic) return enqueue.call(this, packet);
    // [MQTT-3.1.2-24] any control packet counts for the keepalive, as the broker does for its own.
    if (c._keepaliveInterval > 0) c._keepaliveTimer?.refresh();
    take(session, packet.payload as Buffer, packet.qos, packet.messageId, packet.dup);
  });

  // The chunk's hold goes; while more waits in the socket (reads are capped: see limitReads), in the next turn.
  const release = () => {
    if (c.conn.readableLength > 0) setImmediate(c._nextBatch, null);
    else c._nextBatch(null);
  };

  parser.parse = function framed(chunk: Buffer): number {
    const session = framing(c) ? sessionOf(client) : undefined;
    const buf = rest ? Buffer.concat([rest, chunk]) : chunk;
    rest = undefined;
    // Not framed here: the broker's way (reads are not capped then).
    if (!session) {
      owed = 0;
      return parse(buf);
    }
    // Held for the whole chunk, so a reading acknowledged at once (QoS 0) does not read the socket mid-chunk.
    c._parsingBatch++;
    let i = 0;
    if (owed > 0 || parser._list.length > 0) {
      // The parser holds the start of a packet: of a long one, the bytes it is owed; of one from before CONNACK, the chunk.
      i = owed > 0 ? Math.min(owed, buf.length) : buf.length;
      owed -= Math.min(owed, i);
      parse(buf.subarray(0, i));
      if (i === buf.length) {
        release();
        return 0;
      }
    }
    if (topic?.session !== session) topic = { session, bytes: Buffer.from(session.readingsTopic) };
    const own = topic.bytes;
    // [MQTT-3.1.2-24] any control packet counts for the keepalive.
    if (c._keepaliveInterval > 0) c._keepaliveTimer?.refresh();
    while (i < buf.length && !c.closed) {
      // Fixed header: the type byte, then the remaining length in 1 to 4 bytes [MQTT-2.2.3].
      let length = 0;
      let at = i + 1;
      let shift = 0;
      let byte = 0x80;
      while (byte & 0x80 && at < buf.length && shift < 28) {
        byte = buf[at++]!;
        length += (byte & 0x7f) << shift;
        shift += 7;
      }
      if (byte & 0x80) {
        // Malformed (a fifth length byte): the parser says so and the connection closes.
        if (shift >= 28) parse(buf.subarray(i));
        else rest = buf.subarray(i);
        break;
      }
      const end = at + length;
      if (end > buf.length) {
        if (end - i <= REST_MAX_BYTES) rest = buf.subarray(i);
        else {
          owed = end - buf.length;
          parse(buf.subarray(i));
        }
        break;
      }
      const flags = buf[i]!;
      const qos = (flags >> 1) & 3;
      const topicLength = length >= 2 ? (buf[at]! << 8) | buf[at + 1]! : -1;
      const payloadAt = at + 2 + topicLength + (qos === 1 ? 2 : 0);
      const messageId = qos === 1 ? (buf[payloadAt - 2]! << 8) | buf[payloadAt - 1]! : undefined;
      if (
        flags >> 4 === PUBLISH &&
        qos < 2 &&
        topicLength === own.length &&
        payloadAt <= end &&
        messageId !== 0 &&
        buf.compare(own, 0, own.length, at + 2, at + 2 + topicLength) === 0
      ) {
        take(session, buf.subarray(payloadAt, end), qos, messageId, (flags & 0x08) !== 0);
      } else {
        parse(buf.subarray(i, end));
      }
      i = end;
    }
    release();
    return 0;
  };
}

type FramingState = Pick<Connection, 'connackSent' | 'closed' | 'version'>;

/** Whether the readings path frames what a connection sends: after CONNACK, on MQTT 3.1 and 3.1.1 (an MQTT 5 PUBLISH carries properties). */
function framing(client: FramingState): boolean {
  return client.connackSent && !client.closed && client.version !== 5;
}

/** Whether the readings path frames what this socket's connection sends (Aedes sets `socket.client`); its reads are capped then (see limitReads). */
export function framesReadings(socket: Duplex): boolean {
  const client = (socket as { client?: FramingState }).client;
  return client !== undefined && framing(client);
}

/**
 * A connection's PUBACKs, written together: those released by one journal
 * sync go out as one write, in the order their PUBLISH packets came
 * [MQTT-4.6.0-2], then the connection is read on (after the socket drains,
 * when its buffer is full).
 */
class Acknowledgements {
  readonly #c: Connection;
  #ids: number[] = [];
  #scheduled = false;

  constructor(c: Connection) {
    this.#c = c;
  }

  add(messageId: number): void {
    this.#ids.push(messageId);
    if (this.#scheduled) return;
    this.#scheduled = true;
    process.nextTick(() => this.#flush());
  }

  #flush(): void {
    this.#scheduled = false;
    const ids = this.#ids;
    this.#ids = [];
    const c = this.#c;
    if (c.closed || c.conn.destroyed) return;
    const frame = Buffer.allocUnsafe(ids.length * 4);
    for (let i = 0; i < ids.length; i++) {
      const at = i * 4;
      frame[at] = PUBACK;
      frame[at + 1] = 2;
      frame[at + 2] = ids[i]! >> 8;
      frame[at + 3] = ids[i]! & 0xff;
    }
    const written = c.conn.write(frame);
    // One callback for the lot: the chunk is read on once all its packets have called back.
    c._parsingBatch -= ids.length - 1;
    if (written || c.errored) c._nextBatch(null);
    else c.waitForDrain((error) => c._nextBatch(error ?? null));
  }
}
