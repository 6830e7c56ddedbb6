import type { Redis } from 'ioredis';
import type { Logger } from '../core/index.js';
import { PREFIX } from './channel.js';

/** How long an acknowledged message is remembered across nodes: a resend comes within a reconnect. */
export const RESEND_WINDOW_MS = 5 * 60_000;
/** How long a check may wait for Redis before the message is taken as new. */
const CHECK_TIMEOUT_MS = 500;

/** Keys are kept in one hash per minute of acknowledgement, so a round is one HSET (and one PEXPIRE) whatever its size. */
const BUCKET_MS = 60_000;
const BUCKETS = Math.ceil(RESEND_WINDOW_MS / BUCKET_MS) + 1;
const bucketKey = (bucket: number) => `${PREFIX}acks:${bucket}`;
const field = (deviceId: string, messageId: number) => `${deviceId}:${messageId}`;

/**
 * The resend memory across nodes: the identifier and payload hash of every
 * QoS 1 message a node acknowledged, kept in Redis for `RESEND_WINDOW_MS`, so a
 * device whose PUBACK was lost and who reconnects to another node is
 * recognised there.
 *
 * Off the hot path: the keys of one round of acknowledgements (the
 * journal's commit round acknowledges together) are written as one HSET into
 * the hash of the current minute, which expires once the window has passed; and
 * Redis is asked only about a message with the DUP flag that this node does
 * not know. When Redis cannot answer in time the message is taken as new:
 * stored twice rather than lost.
 */
export class SharedResends {
  readonly #redis: Redis;
  readonly #log: Logger;
  #pending: string[] = [];
  #scheduled = false;

  /** `redis` should fail fast (no offline queue): a check waits for nothing. */
  constructor(redis: Redis, log: Logger) {
    this.#redis = redis;
    this.#log = log;
  }

  /** A message was acknowledged here: written with the rest of its round. */
  acknowledged(deviceId: string, messageId: number, hash: number): void {
    this.#pending.push(field(deviceId, messageId), String(hash));
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#flush());
  }

  /** Whether another node acknowledged this message (same device, identifier and payload) within the window. */
  async acknowledgedElsewhere(deviceId: string, messageId: number, hash: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), CHECK_TIMEOUT_MS)));
    const now = Math.floor(Date.now() / BUCKET_MS);
    const lookup = this.#redis.pipeline();
    // Newest minute first: an identifier used again since names the newer message.
    for (let b = now; b > now - BUCKETS; b--) lookup.hget(bucketKey(b), field(deviceId, messageId));
    try {
      const answers = await Promise.race([lookup.exec(), timeout]);
      const newest = answers?.map(([, value]) => value).find((value) => typeof value === 'string');
      return newest === String(hash);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  #flush(): void {
    this.#scheduled = false;
    const fields = this.#pending;
    this.#pending = [];
    const key = bucketKey(Math.floor(Date.now() / BUCKET_MS));
    this.#redis
      .multi()
      .hset(key, ...fields)
      .pexpire(key, RESEND_WINDOW_MS + 2 * BUCKET_MS)
      .exec()
      .catch((err: unknown) => this.#log.debug({ err, keys: fields.length / 2 }, 'acknowledged keys not shared (Redis away)'));
  }
}
