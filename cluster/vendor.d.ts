// aedes-persistence-redis ships no type declarations; its Promise-based class is what Aedes 1.x awaits.
declare module 'aedes-persistence-redis/asyncPersistence.js' {
  import type { Redis } from 'ioredis';
  /** Sessions, subscriptions of persistent sessions, retained messages and QoS 1 messages in flight, in Redis. */
  class AsyncRedisPersistence {
    constructor(options: { conn: Redis; maxSessionDelivery?: number; packetTTL?: () => number });
    setup(broker: unknown): Promise<void>;
    destroy(): Promise<void>;
  }
  export = AsyncRedisPersistence;
}
