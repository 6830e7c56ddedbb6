import type { PublishPacket } from 'aedes';
import {
  type DesiredConfigChange,
  type DeviceContext,
  type ErrorCode,
  type Logger,
  type ReportedConfigMessage,
  configTopic,
  reportedConfigMessageSchema,
} from '../core/index.js';

/**
 * What the gateway needs of the configuration store (the registry, with the
 * profiles' check in front of it, wired by the composition root).
 */
export interface ConfigChannel {
  /** Desired documents set at or after `since` (epoch ms), oldest first. */
  desiredConfigsSince(since: number): Promise<readonly DesiredConfigChange[]>;
  /** Records what a device reports; the refusal when it does not fit the device's profile. */
  reportConfig(device: DeviceContext, report: ReportedConfigMessage): Promise<{ code: ErrorCode; reason: string } | undefined>;
}

/** A gateway without a configuration store: nothing is desired, and every report is refused. */
export const NO_CONFIGURATION: ConfigChannel = {
  desiredConfigsSince: () => Promise.resolve([]),
  reportConfig: () => Promise.resolve({ code: 'TESTBED_CONFIG_BAD_REPORT', reason: 'this gateway keeps no configuration' }),
};

/**
 * Keeps every device's desired configuration as a retained QoS 1 message on
 * `devices/{deviceId}/config/desired`, from the registry: all of them at start
 * (the broker keeps retained messages in memory only, so a restart loses
 * nothing), then each new version as it is set, here or by another process
 * (the sweep reads what changed since its last look). A device gets the
 * current document whenever it subscribes [MQTT-3.3.1-6], and each change
 * while subscribed.
 */
export class DesiredConfigPublisher {
  readonly #channel: ConfigChannel;
  readonly #publish: (packet: PublishPacket, done: (err?: Error) => void) => void;
  readonly #log: Logger;
  /** Where the next look starts: the newest change seen (looked at again, as another may share its millisecond). */
  #since = 0;
  /** The version last published per device, so that a look that sees it again does not publish it again. */
  readonly #published = new Map<string, number>();

  constructor(channel: ConfigChannel, publish: (packet: PublishPacket, done: (err?: Error) => void) => void, log: Logger) {
    this.#channel = channel;
    this.#publish = publish;
    this.#log = log;
  }

  /** Publishes, retained, every desired document set since the last look. */
  sync(): void {
    this.#sync().catch((err: unknown) => this.#log.warn({ err }, 'desired configurations not read: the registry did not answer'));
  }

  async #sync(): Promise<void> {
    for (const { deviceId, message, updatedAt } of await this.#channel.desiredConfigsSince(this.#since)) {
      this.#since = Math.max(this.#since, updatedAt);
      if ((this.#published.get(deviceId) ?? 0) >= message.version) continue;
      this.#published.set(deviceId, message.version);
      const packet: PublishPacket = {
        cmd: 'publish',
        topic: configTopic(deviceId, 'desired'),
        payload: Buffer.from(JSON.stringify(message)),
        qos: 1,
        retain: true,
        dup: false,
      };
      this.#publish(packet, (err) => {
        if (err) this.#log.warn({ deviceId, version: message.version, err }, 'desired configuration not published');
      });
    }
  }

  /**
   * Removes a device's retained desired configuration from the broker (its
   * pilot was erased): a retained message with an empty payload deletes the
   * one kept on its topic [MQTT-3.3.1-10] and is not kept itself [MQTT-3.3.1-11].
   */
  clear(deviceId: string): Promise<void> {
    this.#published.delete(deviceId);
    const packet: PublishPacket = { cmd: 'publish', topic: configTopic(deviceId, 'desired'), payload: Buffer.alloc(0), qos: 1, retain: true, dup: false };
    return new Promise((resolve, reject) => this.#publish(packet, (err) => (err ? reject(err) : resolve())));
  }

  /** A device's report on its config/reported topic; the refusal when it is not recorded. */
  async reported(device: DeviceContext, payload: Buffer): Promise<{ code: ErrorCode; reason: string } | undefined> {
    let parsed;
    try {
      parsed = reportedConfigMessageSchema.safeParse(JSON.parse(payload.toString('utf8')));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success)
      return { code: 'TESTBED_CONFIG_BAD_REPORT', reason: 'send a JSON object { "version"?: <desired version applied>, "config": { ... } }' };
    return this.#channel.reportConfig(device, parsed.data);
  }
}
