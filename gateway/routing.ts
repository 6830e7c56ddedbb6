import mqemitter, { type MQEmitter, type Message } from 'mqemitter';
import { parseDeviceTopic } from '../core/index.js';

/**
 * Whether a topic is a device's readings topic. Readings are never routed to
 * subscribers: no client may subscribe to them (see `maySubscribe`), the
 * gateway itself takes them in `authorizePublish`, and the store and the live
 * streams are where they are read. So the broker has nothing to deliver.
 */
export function isReadingsTopic(topic: string): boolean {
  // The cheap test first: most topics a broker sees are readings, and most of the rest are not.
  return topic.endsWith('/readings') && parseDeviceTopic(topic)?.rest === 'readings';
}

/**
 * The broker's message router, which hands readings straight back instead of
 * matching them against every subscription. A bare broker spends most of a
 * message's routing here (splitting the topic, walking the subscription tree);
 * for readings that work would always find nobody.
 */
export class ReadingsBypass implements MQEmitter {
  readonly #inner: MQEmitter;

  constructor(inner: MQEmitter = mqemitter({ concurrency: 100, matchEmptyLevels: true })) {
    this.#inner = inner;
  }

  get current(): number {
    return this.#inner.current;
  }

  get concurrent(): number {
    return this.#inner.concurrent;
  }

  on(topic: string, listener: (message: Message, done: () => void) => void, callback?: () => void): this {
    this.#inner.on(topic, listener, callback);
    return this;
  }

  emit(message: Message, callback?: (error?: Error) => void): void {
    if (isReadingsTopic(message.topic)) callback?.();
    else this.#inner.emit(message, callback);
  }

  removeListener(topic: string, listener: (message: Message, done: () => void) => void, callback?: () => void): void {
    this.#inner.removeListener(topic, listener, callback);
  }

  close(callback: () => void): void {
    this.#inner.close(callback);
  }
}
