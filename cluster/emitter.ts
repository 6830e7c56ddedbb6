import mqemitter, { type MQEmitter, type Message } from 'mqemitter';

/** How long a close waits for the shared bus to close its connections before dropping them. */
const CLOSE_WAIT_MS = 1000;

type Listener = (message: Message, done: () => void) => void;

/**
 * The broker's message bus over two: this node's own (in memory) and the one
 * every node shares (mqemitter-redis).
 *
 * What a device publishes (readings, results, reports, its status) is routed
 * on this node only: Aedes names its client on the message, and nothing on
 * another node subscribes to it, so a reading never waits for Redis and keeps
 * flowing while Redis is down. What the gateway publishes itself (commands,
 * error notices, desired configuration) and Aedes's own `$SYS` messages
 * (session takeover, heartbeats, subscriptions of persistent sessions) carry no
 * client, and go through Redis to whichever node holds the device.
 *
 * A subscription listens on both, so a message reaches it once, from the bus
 * it was routed on.
 */
export class RoutedEmitter implements MQEmitter {
  readonly #local: MQEmitter;
  readonly #shared: MQEmitter;
  readonly #drop: () => Promise<void>;
  #closing = false;

  /** `drop` closes the shared bus's connections at once, for a close while Redis is away (a QUIT would wait for it). */
  constructor(shared: MQEmitter, drop: () => Promise<void>, local: MQEmitter = mqemitter()) {
    this.#local = local;
    this.#shared = shared;
    this.#drop = drop;
  }

  get current(): number {
    return this.#local.current + this.#shared.current;
  }

  get concurrent(): number {
    return this.#local.concurrent;
  }

  on(topic: string, listener: Listener, callback?: () => void): this {
    let left = 2;
    const done = () => {
      if (--left === 0) callback?.();
    };
    this.#local.on(topic, listener, done);
    this.#shared.on(topic, listener, done);
    return this;
  }

  emit(message: Message, callback?: (error?: Error) => void): void {
    const fromDevice = typeof message.clientId === 'string';
    if (fromDevice) return this.#local.emit(message, callback);
    // What Aedes publishes while it closes (the $SYS notes of its clients' unsubscribes) has no one to reach.
    if (this.#closing) return callback?.(new Error('the broker is closing'));
    this.#shared.emit(message, callback);
  }

  removeListener(topic: string, listener: Listener, callback?: () => void): void {
    // The listener is gone from both at once; Redis's UNSUBSCRIBE finishes on its own, so that a
    // connection closing while Redis is away (Aedes unsubscribes it first) does not wait for Redis.
    this.#shared.removeListener(topic, listener, () => {});
    this.#local.removeListener(topic, listener, callback);
  }

  close(callback: () => void): void {
    this.#closing = true;
    this.#local.close(() => {
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        void this.#drop().then(callback);
      };
      // A connection that is reconnecting never reports its end, so the bus's close is not waited for past this.
      const giveUp = setTimeout(finish, CLOSE_WAIT_MS);
      this.#shared.close(() => {
        clearTimeout(giveUp);
        finish();
      });
    });
  }
}
