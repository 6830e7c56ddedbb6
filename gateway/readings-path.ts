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
  readonly closed: boolean;
  readonly errored: boolean;
  readonly conn: Duplex;
  waitForDrain(callback: (error?: Error | null) => void): void;
}

/** PUBACK [MQTT-3.4]: fixed header 0x40, remaining length 2, then the packet identifier. */
const PUBACK = 0x40;

/**
 * Takes a connection's PUBLISH packets on its own readings topic (QoS 0 or 1,
 * once CONNACK is sent) straight from the packet parser to `receive`, and
 * writes the PUBACK itself, instead of passing each through the broker's
 * publish path: its authorisation hook, the PUBACK written as a packet object,
 * then a publish to subscribers (a packet copy, the session store asked for
 * offline subscribers, the router, the 'publish' event), all for a message
 * that nobody may receive. Everything else the connection sends, a PUBLISH
 * elsewhere included (closed by the topic policy in the hook), goes to the
 * broker as before. What a reading goes through is the same either way:
 * `receive` is what the hook calls for readings.
 */
export function takeReadings(client: Client, sessionOf: (client: Client) => Session | undefined, receive: ReceiveReading): void {
  const c = client as unknown as Connection;
  const parser = c._parser;
  const [enqueue] = parser.listeners('packet') as ((this: EventEmitter, packet: ParsedPacket) => void)[];
  if (!enqueue) return;
  // Made at the first QoS 1 reading: an idle connection does not carry it.
  let acks: Acknowledgements | undefined;
  parser.removeListener('packet', enqueue);
  parser.on('packet', function readingOrBroker(this: EventEmitter, packet: ParsedPacket) {
    // Packets before CONNACK wait in the broker's queue, in order; they take its path.
    const session = packet.cmd === 'publish' && packet.qos < 2 && c.connackSent && !c.closed ? sessionOf(client) : undefined;
    if (!session || packet.topic !== session.readingsTopic) return enqueue.call(this, packet);
    c._parsingBatch++;
    // [MQTT-3.1.2-24] any control packet counts for the keepalive, as the broker does for its own.
    if (c._keepaliveInterval > 0) c._keepaliveTimer?.refresh();
    // Aedes's own callback (it needs no `this`): nothing to acknowledge at QoS 0.
    if (packet.qos === 0) return receive(client, session, packet, c._nextBatch);
    const messageId = packet.messageId!;
    receive(client, session, packet, (error) => (error ? c._nextBatch(error) : (acks ??= new Acknowledgements(c)).add(messageId)));
  });
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
