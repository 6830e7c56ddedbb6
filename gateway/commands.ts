import type { Client, PublishPacket } from 'aedes';
import {
  type Command,
  type CommandMessage,
  type CommandResult,
  type ErrorCode,
  type EventBus,
  type Logger,
  commandEvent,
  commandMessageSchema,
  commandResultSchema,
  deviceTopic,
  filterMatches,
} from '../core/index.js';
import { OutgoingIds } from './outgoing.js';

/**
 * What the gateway needs of the command store (the registry). Every call names
 * the device of the connection, so a device reaches only its own commands;
 * whichever gateway process holds the connection delivers, so nothing here
 * assumes one process.
 */
export interface CommandOutbox {
  /** Queued commands of the device that have not expired, in the order they were sent. */
  pendingCommands(deviceId: string): Promise<Command[]>;
  /** Marks a queued command delivered; undefined when it was not queued or has expired. */
  markCommandDelivered(deviceId: string, commandId: string): Promise<Command | undefined>;
  /**
   * Records the device's answer: the command, or why not: 'unknown' (not a command of this device),
   * 'finished' (already final with another outcome, or past its TTL), 'repeated' (the same outcome again).
   */
  recordCommandResult(deviceId: string, commandId: string, result: CommandResult): Promise<Command | 'unknown' | 'finished' | 'repeated'>;
  /** Marks every command past its TTL expired, and returns them. */
  expireCommands(): Promise<Command[]>;
}

/** A gateway without a command store: nothing is pending, and every result names an unknown command. */
export const NO_COMMANDS: CommandOutbox = {
  pendingCommands: () => Promise.resolve([]),
  markCommandDelivered: () => Promise.resolve(undefined),
  recordCommandResult: () => Promise.resolve('unknown'),
  expireCommands: () => Promise.resolve([]),
};

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
 * queued), and not again while its PUBACK is awaited. A command whose PUBACK
 * never came stays queued and goes again, with the same id, at the device's
 * next subscription: at least once, so devices act on a command id once (and
 * the registry records one answer per id).
 */
export class CommandDelivery {
  readonly #outbox: CommandOutbox;
  readonly #events: EventBus | undefined;
  readonly #log: Logger;
  readonly #broker: CommandBroker;
  readonly #now: () => number;
  /** Per device, its connected clients with a QoS 1 subscription that covers its commands topic. */
  readonly #subscribers = new Map<string, Set<Client>>();
  /** Per device, the commands published and not yet acknowledged (so a second `deliver` does not publish them again). */
  readonly #sending = new Map<string, Set<string>>();
  /** Per connection, the packet identifiers of its QoS 1 messages awaiting PUBACK, and their commands. */
  readonly #outgoing = new WeakMap<Client, OutgoingIds>();

  constructor(outbox: CommandOutbox, broker: CommandBroker, events: EventBus | undefined, log: Logger, now: () => number = Date.now) {
    this.#outbox = outbox;
    this.#broker = broker;
    this.#events = events;
    this.#log = log;
    this.#now = now;
  }

  /** After a SUBACK, or once a resumed session is ready (its restored subscriptions): a QoS 1 filter over the commands topic starts delivery. */
  subscribed(client: Client, deviceId: string, subscriptions: readonly { topic: string; qos: number }[]): void {
    const topic = deviceTopic(deviceId, 'commands');
    if (!subscriptions.some((s) => (s.qos === 1 || s.qos === 2) && filterMatches(s.topic, topic))) return;
    let clients = this.#subscribers.get(deviceId);
    if (!clients) this.#subscribers.set(deviceId, (clients = new Set()));
    clients.add(client);
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
    this.#sending.delete(deviceId);
    if (clients.size === 0) this.#subscribers.delete(deviceId);
    else this.deliver(deviceId);
  }

  /** Sends the device's pending commands not already awaiting a PUBACK, if a connection of it here is subscribed. */
  deliver(deviceId: string): void {
    this.#background(this.#deliver(deviceId), { deviceId }, 'commands not sent: the registry did not answer');
  }

  async #deliver(deviceId: string): Promise<void> {
    if (!this.#subscribers.get(deviceId)?.size) return;
    const pending = await this.#outbox.pendingCommands(deviceId);
    // Read after the registry answered: another delivery may have taken some of these meanwhile.
    let sending = this.#sending.get(deviceId);
    if (!sending) this.#sending.set(deviceId, (sending = new Set()));
    const due = pending.filter((c) => !sending.has(c.id));
    for (const c of due) sending.add(c.id);
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
   * Every QoS 1 message on its way to a device's connection (Aedes's
   * `authorizeForward`): it is numbered here, so that the PUBACK naming the
   * number [MQTT-2.3.1-6] is matched to the command exactly, whatever the
   * session kind. A command past its TTL is not sent (null), nor one this
   * connection already awaits a PUBACK for (a stored session's resend and a
   * fresh delivery of the same command).
   */
  forwarding<P extends { topic: string; payload: unknown; qos: number; messageId?: number | undefined }>(
    client: Client,
    deviceId: string,
    packet: P,
  ): P | null {
    if (packet.qos === 0) return packet;
    let outgoing = this.#outgoing.get(client);
    if (!outgoing) this.#outgoing.set(client, (outgoing = new OutgoingIds()));
    const command = packet.topic === deviceTopic(deviceId, 'commands') ? messageOf(packet.payload) : undefined;
    if (command && Date.parse(command.expiresAt) <= this.#now()) return null;
    if (command && outgoing.carries(command.id) && packet.messageId === undefined) return null;
    if (packet.messageId !== undefined) {
      outgoing.note(packet.messageId, command?.id);
      return packet;
    }
    return { ...packet, messageId: outgoing.take(command?.id) };
  }

  /** A PUBACK from a device: if it acknowledges one of its commands, that command is delivered. */
  acknowledged(client: Client, deviceId: string, messageId: number): void {
    const id = this.#outgoing.get(client)?.release(messageId);
    if (id === undefined) return;
    this.#sending.get(deviceId)?.delete(id);
    const marked = this.#outbox.markCommandDelivered(deviceId, id).then((command) => {
      if (command) this.#publish(command, command.deliveredAt);
    });
    this.#background(marked, { deviceId, commandId: id }, 'command delivery not recorded: the registry did not answer');
  }

  /** A device's answer on its result topic; returns the refusal code when it is not recorded. */
  async answered(deviceId: string, commandId: string, payload: Buffer): Promise<{ code: ErrorCode; reason: string } | undefined> {
    let parsed;
    try {
      parsed = commandResultSchema.safeParse(JSON.parse(payload.toString('utf8')));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success)
      return { code: 'TESTBED_COMMAND_BAD_RESULT', reason: `result of ${commandId}: send a JSON object { "ok": true|false, "result"?, "error"? }` };
    const outcome = await this.#outbox.recordCommandResult(deviceId, commandId, parsed.data);
    // The same answer again (a QoS 1 resend, or a device answering a redelivered command once more) changes nothing.
    if (outcome === 'repeated') return undefined;
    if (outcome === 'unknown') return { code: REFUSALS.unknown, reason: `no command ${commandId} of this device` };
    if (outcome === 'finished') return { code: REFUSALS.finished, reason: `command ${commandId} already succeeded, failed or expired` };
    this.#sending.get(deviceId)?.delete(commandId);
    // Answered before its PUBACK was seen: the answer is what showed it arrived, at the same instant.
    if (outcome.deliveredAt === outcome.finishedAt) this.#publish({ ...outcome, status: 'delivered', error: null }, outcome.deliveredAt);
    this.#publish(outcome, outcome.finishedAt);
    return undefined;
  }

  /**
   * Expires what is past its TTL, and sends what other processes queued for
   * devices connected here (the registry is shared; the event bus is not).
   */
  sweep(): void {
    const expired = this.#outbox.expireCommands().then((commands) => {
      for (const command of commands) this.#publish(command, command.finishedAt);
    });
    this.#background(expired, {}, 'commands not expired: the registry did not answer');
    for (const deviceId of this.#subscribers.keys()) this.deliver(deviceId);
  }

  /** Work started from a broker event, which cannot wait for it: a failure is logged, and the next sweep tries again. */
  #background(work: Promise<void>, fields: object, message: string): void {
    work.catch((err: unknown) => this.#log.warn({ ...fields, err }, message));
  }

  #publish(command: Command, at: string | null): void {
    this.#log.info({ deviceId: command.deviceId, commandId: command.id, name: command.name, status: command.status }, `command ${command.status}`);
    this.#events?.publish(commandEvent(command, at === null ? this.#now() : Date.parse(at)));
  }
}

/** The command a message on a commands topic carries (only the gateway publishes there). */
function messageOf(payload: unknown): CommandMessage | undefined {
  if (!Buffer.isBuffer(payload) && typeof payload !== 'string') return undefined;
  try {
    const parsed = commandMessageSchema.safeParse(JSON.parse(payload.toString()));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
