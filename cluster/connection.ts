import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../core/index.js';

/** The longest wait between two attempts to reach Redis again. */
const RECONNECT_MAX_MS = 2000;

/**
 * Opens one Redis connection, named after what it carries. Every connection
 * of a node comes from here, so all reconnect the same way: ioredis tries
 * again forever (waits growing to 2 s), resubscribes its channels and, unless
 * `failFast`, queues commands while Redis is away and sends them once it is
 * back. A `failFast` connection refuses commands at once while it is down, for
 * callers that have a local answer to fall back on (rate limits, resends).
 */
export function connectRedis(url: string, log: Logger, purpose: string, options: { failFast?: boolean } = {}): Redis {
  const redisOptions: RedisOptions = {
    connectionName: `testbed-${purpose}`,
    retryStrategy: (attempt) => Math.min(attempt * 100, RECONNECT_MAX_MS),
    // Commands wait for the connection to come back instead of failing after 20 attempts.
    maxRetriesPerRequest: options.failFast ? 0 : null,
    enableOfflineQueue: !options.failFast,
  };
  const redis = new Redis(url, redisOptions);
  let down = false;
  redis.on('error', (err: Error) => {
    // One warning per outage: ioredis reports every failed attempt.
    if (!down) log.warn({ err: err.message, purpose }, 'Redis unreachable; reconnecting');
    down = true;
  });
  redis.on('ready', () => {
    if (down) log.info({ purpose }, 'Redis reachable again');
    down = false;
  });
  return redis;
}

/** Closes a connection: QUIT when it is up, else drops it (a QUIT would wait for Redis to come back). */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'ready') {
    await redis.quit().catch(() => redis.disconnect());
  } else redis.disconnect();
}
