/**
 * What happened in the testbed, as one typed stream: device connections and
 * health changes, alerts opening and resolving, commands changing state.
 * Stages publish to an `EventBus` handed to them at start; listeners (webhooks,
 * live streams, metrics) subscribe. Every event names where it belongs, so a
 * listener can apply a scope before passing it on.
 */
export interface TestbedEvent {
  /** A dotted name, e.g. `device.connected`, `device.status`, `alert.opened`, `alert.resolved`, `command.succeeded`. */
  readonly type: string;
  /** Epoch ms. */
  readonly at: number;
  readonly testbedId: string;
  readonly companyId?: string | undefined;
  readonly pilotId?: string | undefined;
  readonly deviceId?: string | undefined;
  /** The event's own fields (JSON-serialisable). */
  readonly data: Readonly<Record<string, unknown>>;
}

export type EventListener = (event: TestbedEvent) => void;

/** A synchronous in-process bus: a listener that throws is reported, and the others still run. */
export class EventBus {
  readonly #listeners = new Set<EventListener>();
  readonly #onError: (err: unknown, event: TestbedEvent) => void;

  constructor(onError: (err: unknown, event: TestbedEvent) => void = () => {}) {
    this.#onError = onError;
  }

  /** Adds a listener; the returned function removes it. */
  on(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  publish(event: TestbedEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (err) {
        this.#onError(err, event);
      }
    }
  }
}
