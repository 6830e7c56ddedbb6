/**
 * Recognises a QoS 1 message that a device sends again because it never got
 * the PUBACK, so it is stored once: readings stamped on receipt would otherwise
 * get a new time and be stored twice.
 *
 * A resend carries the same packet identifier and payload. MQTT 3.1.1 asks the
 * sender to set DUP on it [MQTT-3.3.1-1], but common clients (mqtt.js among
 * them) resend after a reconnect without it. So a message is taken for a
 * resend when it repeats one of the device's recent identifier+payload pairs
 * and either has DUP set or comes on another connection than the original
 * (identifiers may be reused once acknowledged [MQTT-2.3.1-6], but a client
 * never resends on the connection that is still open without DUP).
 *
 * Kept per device, not per connection, since the resend comes on the next
 * connection; after a restart it is rebuilt from the journal's recent records.
 */
export interface Original {
  readonly messageId: number;
  readonly hash: number;
  /** Epoch ms it was received. */
  readonly at: number;
  /** The connection it came on; 0 for one read back from the journal after a restart. */
  readonly connection: number;
  /** Journal end of the original, once it has been appended. */
  end: number | undefined;
  /** Resends that arrived before the original was appended. */
  waiting: ((end: number) => void)[] | undefined;
}

/** One device's recent messages: by packet identifier, and in arrival order for expiry. */
class Recent {
  readonly byId = new Map<number, Original>();
  /** Arrival order from `head` on; an entry whose identifier was reused since is skipped at expiry. */
  order: Original[] = [];
  head = 0;

  get size(): number {
    return this.order.length - this.head;
  }
}

export class DuplicateFilter {
  readonly #perDevice: number;
  readonly #windowMs: number;
  readonly #devices = new Map<string, Recent>();

  /**
   * Remembers each device's messages for `windowMs` (a resend comes within a
   * reconnect, or a restart, of the original), and at most `perDevice` of
   * them: enough for a client's whole in-flight window (MQTT 3.1.1 sets no
   * limit; mqtt.js keeps hundreds in flight under load).
   */
  constructor(options: { perDevice?: number; windowMs?: number } = {}) {
    this.#perDevice = options.perDevice ?? 4096;
    this.#windowMs = options.windowMs ?? 5 * 60_000;
  }

  /** Remembers a message; pass `end` once it is appended (see `appended`). */
  remember(deviceId: string, messageId: number, hash: number, connection: number, at: number, end?: number): Original {
    let recent = this.#devices.get(deviceId);
    if (!recent) {
      recent = new Recent();
      this.#devices.set(deviceId, recent);
    }
    const original: Original = { messageId, hash, at, connection, end, waiting: undefined };
    recent.byId.set(messageId, original);
    recent.order.push(original);
    this.#expire(recent, at);
    return original;
  }

  /** The original this message repeats, if it is a resend. */
  original(deviceId: string, messageId: number, hash: number, connection: number, dup: boolean): Original | undefined {
    const seen = this.#devices.get(deviceId)?.byId.get(messageId);
    if (!seen || seen.hash !== hash) return undefined;
    return dup || seen.connection !== connection ? seen : undefined;
  }

  /** Forgets every message of a device (its pilot was erased). */
  forgetDevice(deviceId: string): void {
    this.#devices.delete(deviceId);
  }

  /** Forgets what is older than the window, for every device (call now and then). */
  sweep(now: number): void {
    for (const [deviceId, recent] of this.#devices) {
      this.#expire(recent, now);
      if (recent.byId.size === 0) this.#devices.delete(deviceId);
    }
  }

  /** Drops the oldest entries past the count or the window: O(1) a message, no reordering of the map. */
  #expire(recent: Recent, now: number): void {
    const oldest = now - this.#windowMs;
    const { order, byId } = recent;
    while (recent.head < order.length) {
      const o = order[recent.head]!;
      if (recent.size <= this.#perDevice && o.at >= oldest) break;
      if (byId.get(o.messageId) === o) byId.delete(o.messageId);
      recent.head++;
    }
    if (recent.head > 1024 && recent.head * 2 > order.length) {
      recent.order = order.slice(recent.head);
      recent.head = 0;
    }
  }
}

/** Marks an original as appended at `end` and releases resends that waited for it. */
export function appended(original: Original, end: number): void {
  original.end = end;
  const waiting = original.waiting;
  original.waiting = undefined;
  if (waiting) for (const wake of waiting) wake(end);
}

/** Calls `then` with the original's journal end, now or once it is appended. */
export function whenAppended(original: Original, then: (end: number) => void): void {
  if (original.end !== undefined) then(original.end);
  else (original.waiting ??= []).push(then);
}

/** 32-bit FNV-1a of a payload: cheap, and enough to tell a resend from a new message with a reused identifier. */
export function payloadHash(payload: Buffer): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < payload.length; i++) {
    h ^= payload[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
