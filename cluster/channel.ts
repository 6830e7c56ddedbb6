import type { Redis } from 'ioredis';
import type { Logger } from '../core/index.js';

/** Every key and channel of the gateway in Redis starts with this (MQTT topics of devices never do). */
export const PREFIX = 'testbed:';

type Handler = (body: unknown, from: string) => void;

/**
 * Pub/sub between nodes on one subscriber connection: each message is JSON
 * `{ from, body }`, and a node never hears its own (it already acted on it).
 * Redis pub/sub is at most once: a message sent while a node is cut off from
 * Redis does not reach it, so each feature says what it does about that.
 */
export class Channels {
  readonly #nodeId: string;
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #handlers = new Map<string, Handler>();
  readonly #log: Logger;

  constructor(nodeId: string, publisher: Redis, subscriber: Redis, log: Logger) {
    this.#nodeId = nodeId;
    this.#publisher = publisher;
    this.#subscriber = subscriber;
    this.#log = log;
    subscriber.on('message', (channel: string, message: string) => this.#receive(channel, message));
  }

  /** Listens on `name` (under the prefix) for the other nodes' messages. */
  async listen(name: string, handler: Handler): Promise<void> {
    this.#handlers.set(PREFIX + name, handler);
    await this.#subscriber.subscribe(PREFIX + name);
  }

  /** Sends to every other node listening on `name`; a failure is logged, never thrown. */
  send(name: string, body: unknown): void {
    this.#publisher.publish(PREFIX + name, JSON.stringify({ from: this.#nodeId, body })).catch((err: unknown) => {
      this.#log.debug({ err, channel: name }, 'could not send to the other nodes');
    });
  }

  #receive(channel: string, message: string): void {
    const handler = this.#handlers.get(channel);
    if (!handler) return;
    try {
      const { from, body } = JSON.parse(message) as { from: string; body: unknown };
      if (from !== this.#nodeId) handler(body, from);
    } catch (err) {
      this.#log.warn({ err, channel }, 'unreadable message from another node');
    }
  }
}
