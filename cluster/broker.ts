import { Readable } from 'node:stream';
import mqemitterRedis from 'mqemitter-redis';
import AsyncRedisPersistence from 'aedes-persistence-redis/asyncPersistence.js';
import type { Logger } from '../core/index.js';
import { closeRedis, connectRedis } from './connection.js';
import { RoutedEmitter } from './emitter.js';

/** What Aedes is given to run as one of several brokers: its id, message bus and session store on Redis. */
export interface BrokerParts {
  /** The broker's id in `$SYS` topics and its stored QoS 1 messages: the node's id. */
  readonly id: string;
  readonly mq: RoutedEmitter;
  /** The session store (aedes-persistence-redis); the gateway wraps it as it wraps the in-memory one. */
  readonly persistence: object;
}

/** QoS 1 messages kept for an offline persistent session expire after a day (a device gone for longer gets its commands from the registry). */
const PACKET_TTL_SECONDS = 86_400;

/**
 * The broker's Redis parts: mqemitter-redis behind the routing bus (a
 * publisher and a subscriber connection) and aedes-persistence-redis (a third).
 * The bus closes its connections when Aedes closes it.
 */
export function brokerParts(url: string, nodeId: string, log: Logger): BrokerParts {
  const pubConn = connectRedis(url, log, 'mqtt-pub');
  const subConn = connectRedis(url, log, 'mqtt-sub');
  const conn = connectRedis(url, log, 'mqtt-sessions');
  // The bus closes with quit() and never looks at its promise; Redis gone, that rejection would be unhandled.
  for (const redis of [pubConn, subConn]) {
    const quit = redis.quit.bind(redis);
    redis.quit = () => quit().catch(() => 'OK' as const);
  }
  const shared = mqemitterRedis({ pubConn, subConn });
  // The bus re-emits its connections' errors on `state`, where nobody listens (an uncaught throw); connectRedis logs them.
  (shared as unknown as { state: { on(event: 'error', listener: () => void): void } }).state.on('error', () => {});
  const persistence = streaming(new AsyncRedisPersistence({ conn, packetTTL: () => PACKET_TTL_SECONDS }));
  // Aedes never destroys its persistence: its connection goes when the bus closes.
  const mq = new RoutedEmitter(shared, async () => {
    for (const redis of [pubConn, subConn]) if (redis.status !== 'end') redis.disconnect();
    await closeRedis(conn);
  });
  return { id: nodeId, mq, persistence };
}

/** The persistence methods whose answer Aedes pipes as a stream. */
const STREAMS = ['createRetainedStream', 'createRetainedStreamCombi', 'outgoingStream', 'streamWill', 'getClientList'] as const;

/**
 * aedes-persistence-redis answers these with async generators, while Aedes
 * 1.x pipes them (`stream.pipe`), as the in-memory persistence's Readables
 * allow: each is wrapped in `Readable.from`.
 */
function streaming<P extends object>(persistence: P): P {
  const methods = persistence as unknown as Record<string, ((...args: unknown[]) => unknown) | undefined>;
  for (const name of STREAMS) {
    const original = methods[name]?.bind(persistence);
    if (!original) continue;
    methods[name] = (...args: unknown[]) => {
      const answer = original(...args) as AsyncIterable<unknown> & { pipe?: unknown };
      return typeof answer.pipe === 'function' ? answer : Readable.from(answer);
    };
  }
  return persistence;
}
