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

/**
 * A remembered message, as `remember` and `original` hand it out: where it
 * sits among its device's recent messages. Short-lived: what is kept lies in
 * the device's typed arrays, so remembering a message keeps no object alive.
 */
export interface Original {
  readonly recent: Recent;
  readonly slot: number;
  /** Which message the slot held when this was handed out (a slot is reused once its message expires). */
  readonly seq: number;
}

/** Slots a device starts with; they double as it sends more, up to the filter's `perDevice`. */
const FIRST_SLOTS = 16;

/**
 * One device's recent messages: a ring of slots, oldest first from `head`,
 * in typed arrays, and the slot of each packet identifier.
 */
class Recent {
  ids: Uint16Array;
  hashes: Uint32Array;
  /** Epoch ms received. */
  ats: Float64Array;
  /** The connection it came on; 0 for one read back from the journal after a restart. */
  connections: Float64Array;
  /** Journal end once appended; NaN until then. */
  ends: Float64Array;
  seqs: Float64Array;
  head = 0;
  size = 0;
  nextSeq = 1;
  readonly slotOf = new Map<number, number>();
  /** Resends that arrived before their original was appended, by the original's `seq`. */
  waiting: Map<number, ((end: number) => void)[]> | undefined;

  constructor(slots: number) {
    this.ids = new Uint16Array(slots);
    this.hashes = new Uint32Array(slots);
    this.ats = new Float64Array(slots);
    this.connections = new Float64Array(slots);
    this.ends = new Float64Array(slots);
    this.seqs = new Float64Array(slots);
  }

  get capacity(): number {
    return this.ids.length;
  }

  /** Twice the slots (at most `most`), the messages kept in order from slot 0. */
  grow(most: number): void {
    const slots = Math.min(most, this.capacity * 2);
    const order = (a: Uint16Array | Uint32Array | Float64Array, b: Uint16Array | Uint32Array | Float64Array) => {
      for (let i = 0; i < this.size; i++) b[i] = a[(this.head + i) % a.length]!;
      return b;
    };
    this.ids = order(this.ids, new Uint16Array(slots)) as Uint16Array;
    this.hashes = order(this.hashes, new Uint32Array(slots)) as Uint32Array;
    this.ats = order(this.ats, new Float64Array(slots)) as Float64Array;
    this.connections = order(this.connections, new Float64Array(slots)) as Float64Array;
    this.ends = order(this.ends, new Float64Array(slots)) as Float64Array;
    this.seqs = order(this.seqs, new Float64Array(slots)) as Float64Array;
    this.head = 0;
    for (let i = 0; i < this.size; i++) this.slotOf.set(this.ids[i]!, i);
  }

  /** Drops the oldest message. */
  dropOldest(): void {
    const slot = this.head;
    if (this.slotOf.get(this.ids[slot]!) === slot) this.slotOf.delete(this.ids[slot]!);
    this.head = (slot + 1) % this.capacity;
    this.size--;
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
      recent = new Recent(Math.min(FIRST_SLOTS, this.#perDevice));
      this.#devices.set(deviceId, recent);
    }
    this.#expire(recent, at);
    if (recent.size === this.#perDevice) recent.dropOldest();
    if (recent.size === recent.capacity) recent.grow(this.#perDevice);
    const slot = (recent.head + recent.size) % recent.capacity;
    const seq = recent.nextSeq++;
    recent.ids[slot] = messageId;
    recent.hashes[slot] = hash;
    recent.ats[slot] = at;
    recent.connections[slot] = connection;
    recent.ends[slot] = end ?? Number.NaN;
    recent.seqs[slot] = seq;
    recent.size++;
    recent.slotOf.set(messageId, slot);
    return { recent, slot, seq };
  }

  /** The original this message repeats, if it is a resend. */
  original(deviceId: string, messageId: number, hash: number, connection: number, dup: boolean): Original | undefined {
    const recent = this.#devices.get(deviceId);
    const slot = recent?.slotOf.get(messageId);
    if (recent === undefined || slot === undefined || recent.hashes[slot] !== hash) return undefined;
    return dup || recent.connections[slot] !== connection ? { recent, slot, seq: recent.seqs[slot]! } : undefined;
  }

  /** Forgets every message of a device (its pilot was erased). */
  forgetDevice(deviceId: string): void {
    this.#devices.delete(deviceId);
  }

  /** Forgets what is older than the window, for every device (call now and then). */
  sweep(now: number): void {
    for (const [deviceId, recent] of this.#devices) {
      this.#expire(recent, now);
      if (recent.size === 0 && recent.waiting === undefined) this.#devices.delete(deviceId);
    }
  }

  /** Drops the oldest messages past the window: O(1) a message. */
  #expire(recent: Recent, now: number): void {
    const oldest = now - this.#windowMs;
    while (recent.size > 0 && recent.ats[recent.head]! < oldest) recent.dropOldest();
  }
}

/** Marks an original as appended at `end` and releases resends that waited for it. */
export function appended(original: Original, end: number): void {
  const { recent, slot, seq } = original;
  if (recent.seqs[slot] === seq) recent.ends[slot] = end;
  const waiting = recent.waiting?.get(seq);
  if (!waiting) return;
  recent.waiting!.delete(seq);
  if (recent.waiting!.size === 0) recent.waiting = undefined;
  for (const wake of waiting) wake(end);
}

/** Calls `then` with the original's journal end, now or once it is appended. */
export function whenAppended(original: Original, then: (end: number) => void): void {
  const { recent, slot, seq } = original;
  const end = recent.seqs[slot] === seq ? recent.ends[slot]! : Number.NaN;
  if (!Number.isNaN(end)) return then(end);
  const waiting = (recent.waiting ??= new Map());
  const list = waiting.get(seq);
  if (list) list.push(then);
  else waiting.set(seq, [then]);
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
