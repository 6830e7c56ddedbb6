import type { Redis } from 'ioredis';
import type { Logger } from '../core/index.js';
import { PREFIX } from './channel.js';

/** How long an acknowledged message is remembered across nodes: a resend comes within a reconnect. */
export const RESEND_WINDOW_MS = 5 * 60_000;
/** How long a check may wait for Redis before the message is taken as new. */
const CHECK_TIMEOUT_MS = 500;

const ackKey = (deviceId: string, messageId: number) => `${PREFIX}ack:${deviceId}:${messageId}`;

/**
 * The resend memory across nodes: the identifier and payload hash of every
 * QoS 1 message a node acknowledged, kept in Redis for `RESEND_WINDOW_MS`, so a
 * device whose PUBACK was lost and who reconnects to another node is
 * recognised there.
 *
 * Off the hot path: keys are written in one pipeline per round of
 * acknowledgements (the journal's commit round acknowledges together), and
 * Redis is asked only about a message with the DUP flag that this node does
 * not know. When Redis cannot answer in time the message is taken as new:
 * stored twice rather than lost.
 */
export class SharedResends {
  readonly #redis: Redis;
  readonly #log: Logger;
  #pending: [string, number, number][] = [];
  #scheduled = false;

  /** `redis` should fail fast (no offline queue): a check waits for nothing. */
  constructor(redis: Redis, log: Logger) {
    this.#redis = redis;
    this.#log = log;
  }

  /** A message was acknowledged here: written with the rest of its round. */
  acknowledged(deviceId: string, messageId: number, hash: number): void {
    this.#pending.push([deviceId, messageId, hash]);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#flush());
  }

  /** Whether another node acknowledged this message (same device, identifier and payload) within the window. */
  async acknowledgedElsewhere(deviceId: string, messageId: number, hash: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), CHECK_TIMEOUT_MS)));
    try {
      const seen = await Promise.race([this.#redis.get(ackKey(deviceId, messageId)), timeout]);
      return seen === String(hash);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    const pipeline = this.#redis.pipeline();
    for (const [deviceId, messageId, hash] of batch) pipeline.set(ackKey(deviceId, messageId), String(hash), 'PX', RESEND_WINDOW_MS);
    pipeline.exec().catch((err: unknown) => this.#log.debug({ err, keys: batch.length }, 'acknowledged keys not shared (Redis away)'));
  }
}
