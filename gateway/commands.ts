import type { Client, PublishPacket } from 'aedes';
import {
  type Command,
  type CommandMessage,
  type CommandResult,
  type ErrorCode,
  type EventBus,
  type Logger,
  commandEvent,
  commandResultSchema,
  deviceTopic,
  filterMatches,
} from '../core/index.js';

/**
 * What the gateway needs of the command store (the registry). Every call names
 * the device of the connection, so a device reaches only its own commands;
 * whichever gateway process holds the connection delivers, so nothing here
 * assumes one process.
 */
export interface CommandOutbox {
  /** Queued commands of the device that have not expired, in the order they were sent. */
  pendingCommands(deviceId: string): Command[];
  /** Marks a queued command delivered; undefined when it was not queued or has expired. */
  markCommandDelivered(deviceId: string, commandId: string): Command | undefined;
  recordCommandResult(deviceId: string, commandId: string, result: CommandResult): Command | 'unknown' | 'finished';
  /** Marks every command past its TTL expired, and returns them. */
  expireCommands(): Command[];
}

/** How the delivery reaches the broker. */
export interface CommandBroker {
  publish(packet: PublishPacket, done: (err?: Error) => void): void;
}

const REFUSALS: Record<'unknown' | 'finished', ErrorCode> = { unknown: 'TESTBED_COMMAND_UNKNOWN', finished: 'TESTBED_COMMAND_FINISHED' };

/**
 * Delivers commands at QoS 1 to the devices subscribed to their commands topic
 * here, in the order they were sent, and records PUBACKs, results and expiry,
 * each published on the event bus as `command.<status>`.
 *
 * A command is sent when its device subscribes (or is subscribed when it is
 * queued), and not again on this connection while its PUBACK is awaited. A
 * command whose PUBACK never came stays queued and goes again at the device's
 * next subscription: at least once, so devices act on a command id once.
 */
export class CommandDelivery {
  readonly #outbox: CommandOutbox;
  readonly #events: EventBus | undefined;
  readonly #log: Logger;
  readonly #broker: CommandBroker;
  /** Per device, its connected clients with a QoS 1 subscription that covers its commands topic. */
  readonly #subscribers = new Map<string, Set<Client>>();
  /** Per device, the commands sent and not yet acknowledged. */
  readonly #inFlight = new Map<string, Set<string>>();
  /** Per connection, the packet identifiers of the commands sent on it -> their command ids. */
  readonly #sent = new WeakMap<Client, Map<number, string>>();

  constructor(outbox: CommandOutbox, broker: CommandBroker, events: EventBus | undefined, log: Logger) {
    this.#outbox = outbox;
    this.#broker = broker;
    this.#events = events;
    this.#log = log;
  }

  /** After a SUBACK (or a restored session's subscriptions): a QoS 1 filter over the commands topic starts delivery. */
  subscribed(client: Client, deviceId: string, subscriptions: readonly { topic: string; qos: number }[]): void {
    const topic = deviceTopic(deviceId, 'commands');
    if (!subscriptions.some((s) => (s.qos === 1 || s.qos === 2) && filterMatches(s.topic, topic))) return;
    let clients = this.#subscribers.get(deviceId);
    if (!clients) this.#subscribers.set(deviceId, (clients = new Set()));
    clients.add(client);
    // A restored session subscribes before its CONNACK; `clientReady` delivers then.
    if (client.connected) this.deliver(deviceId);
  }

  unsubscribed(client: Client, deviceId: string, filters: readonly string[]): void {
    const topic = deviceTopic(deviceId, 'commands');
    if (filters.some((f) => filterMatches(f, topic))) this.closed(client, deviceId);
  }

  /**
   * A connection ended: what was sent and not acknowledged goes again, to the
   * device's next subscription (or at once to another connection of it, such
   * as the one that took this one's session over).
   */
  closed(client: Client, deviceId: string): void {
    const clients = this.#subscribers.get(deviceId);
    if (!clients?.delete(client)) return;
    this.#inFlight.delete(deviceId);
    if (clients.size === 0) this.#subscribers.delete(deviceId);
    else this.deliver(deviceId);
  }

  /** Sends the device's pending commands not already awaiting a PUBACK, if a connection of it here is subscribed. */
  deliver(deviceId: string): void {
    if (!this.#subscribers.get(deviceId)?.size) return;
    let inFlight = this.#inFlight.get(deviceId);
    if (!inFlight) this.#inFlight.set(deviceId, (inFlight = new Set()));
    const due = this.#outbox.pendingCommands(deviceId).filter((c) => !inFlight.has(c.id));
    for (const c of due) inFlight.add(c.id);
    const topic = deviceTopic(deviceId, 'commands');
    // One after the other, so they reach the device in the order they were sent.
    const next = (i: number): void => {
      const command = due[i];
      if (!command) return;
      const message: CommandMessage = { id: command.id, name: command.name, params: command.params, expiresAt: command.expiresAt };
      this.#broker.publish({ cmd: 'publish', topic, payload: Buffer.from(JSON.stringify(message)), qos: 1, retain: false, dup: false }, (err) => {
        if (err) this.#log.warn({ deviceId, commandId: command.id, err }, 'command not sent');
        next(i + 1);
      });
    };
    next(0);
  }

  /**
   * A command on its way to one connection: it gets its packet identifier
   * here, from the connection's own counter, so that the PUBACK naming it
   * [MQTT-2.3.1-6] can be matched to the command whatever the session kind.
   */
  forwarding<P extends { topic: string; payload: unknown; qos: number }>(client: Client, deviceId: string, packet: P, messageId: () => number): P {
    if (packet.qos === 0 || packet.topic !== deviceTopic(deviceId, 'commands')) return packet;
    const id = idOf(packet.payload);
    if (id === undefined) return packet;
    const withId = { ...packet, messageId: messageId() };
    let sent = this.#sent.get(client);
    if (!sent) this.#sent.set(client, (sent = new Map()));
    sent.set(withId.messageId, id);
    return withId;
  }

  /** A PUBACK from a device: if it acknowledges one of its commands, that command is delivered. */
  acknowledged(client: Client, deviceId: string, messageId: number): void {
    const id = this.#sent.get(client)?.get(messageId);
    if (id === undefined) return;
    this.#sent.get(client)?.delete(messageId);
    this.#inFlight.get(deviceId)?.delete(id);
    const command = this.#outbox.markCommandDelivered(deviceId, id);
    if (command) this.#publish(command, command.deliveredAt);
  }

  /** A device's answer on its result topic; returns the refusal code when it is not recorded. */
  answered(deviceId: string, commandId: string, payload: Buffer): { code: ErrorCode; reason: string } | undefined {
    let parsed;
    try {
      parsed = commandResultSchema.safeParse(JSON.parse(payload.toString('utf8')));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success)
      return { code: 'TESTBED_COMMAND_BAD_RESULT', reason: `result of ${commandId}: send a JSON object { "ok": true|false, "result"?, "error"? }` };
    const outcome = this.#outbox.recordCommandResult(deviceId, commandId, parsed.data);
    if (outcome === 'unknown') return { code: REFUSALS.unknown, reason: `no command ${commandId} of this device` };
    if (outcome === 'finished') return { code: REFUSALS.finished, reason: `command ${commandId} already succeeded, failed or expired` };
    this.#inFlight.get(deviceId)?.delete(commandId);
    this.#publish(outcome, outcome.finishedAt);
    return undefined;
  }

  /**
   * Expires what is past its TTL, and sends what other processes queued for
   * devices connected here (the registry is shared; the event bus is not).
   */
  sweep(): void {
    for (const command of this.#outbox.expireCommands()) this.#publish(command, command.finishedAt);
    for (const deviceId of this.#subscribers.keys()) this.deliver(deviceId);
  }

  #publish(command: Command, at: string | null): void {
    this.#log.info({ deviceId: command.deviceId, commandId: command.id, name: command.name, status: command.status }, `command ${command.status}`);
    this.#events?.publish(commandEvent(command, at === null ? Date.now() : Date.parse(at)));
  }
}

function idOf(payload: unknown): string | undefined {
  if (!Buffer.isBuffer(payload) && typeof payload !== 'string') return undefined;
  try {
    const id = (JSON.parse(payload.toString()) as { id?: unknown }).id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}
