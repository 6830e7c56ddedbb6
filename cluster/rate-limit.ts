import type { Redis } from 'ioredis';
import { PREFIX } from './channel.js';

/** A rate: `perSecond` sustained, bursts of up to `burst` (the API's `RateLimit`). */
interface Rate {
  readonly perSecond: number;
  readonly burst: number;
}

/** A bucket with the API limiter's `take`: 0 to go ahead, else whole seconds to wait. */
interface Bucket {
  readonly limit: Rate;
  take(key: string): number | Promise<number>;
}

/**
 * One token bucket, read and written atomically in Redis (a script runs alone),
 * with the same arithmetic as the API's in-process limiter. Redis's own clock
 * decides, so nodes with skewed clocks share it fairly. The key expires once
 * the bucket would be full again.
 */
const TAKE = `
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = burst
if b[1] then tokens = math.min(burst, tonumber(b[1]) + (ms - tonumber(b[2])) / 1000 * rate) end
local wait = 0
if tokens < 1 then
  wait = math.max(1, math.ceil((1 - tokens) / rate))
else
  tokens = tokens - 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(ms))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return wait
`;

/**
 * A rate limiter whose buckets every node shares, behind the API limiter's
 * interface. While Redis cannot answer, `local` (this node's own buckets)
 * decides: limits loosen to per node for the outage, requests never fail for it.
 */
export class SharedBucket implements Bucket {
  readonly limit: Rate;
  readonly #redis: Redis;
  readonly #name: string;
  readonly #local: Bucket;

  constructor(redis: Redis, name: string, local: Bucket) {
    this.#redis = redis;
    this.#name = name;
    this.#local = local;
    this.limit = local.limit;
  }

  async take(key: string): Promise<number> {
    if (this.#redis.status !== 'ready') return this.#local.take(key);
    try {
      const wait = await this.#redis.eval(TAKE, 1, `${PREFIX}rate:${this.#name}:${key}`, this.limit.perSecond, this.limit.burst);
      return Number(wait);
    } catch {
      return this.#local.take(key);
    }
  }
}
