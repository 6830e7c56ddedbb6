import { connect, type MqttClient } from 'mqtt';
import { commandMessageSchema, commandResultTopic, configTopic, deviceTopic, type CommandResult, type ReportedConfigMessage } from '../core/index.js';
import { obey } from './commands.js';
import { SimulatedConfiguration } from './configuration.js';
import type { DeviceCredentials } from './credentials.js';
import { connectError } from './connect-error.js';
import { SimulatorError } from './errors.js';

/** How a virtual device connects and publishes. */
export interface VirtualDeviceOptions {
  /** The broker, e.g. `mqtt://127.0.0.1:1883`. */
  readonly url: string;
  readonly credentials: DeviceCredentials;
  /** 1 (default): every reading is acknowledged with PUBACK. 0: fire and forget. */
  readonly qos?: 0 | 1;
  /** Subscribe to the device's errors topic and count rejection notices (default true). */
  readonly listenForRejections?: boolean;
  /** Subscribe to the device's commands and desired configuration, obey the standard commands and apply the configuration (default true). */
  readonly obeyCommands?: boolean;
  /** How long to wait for CONNACK (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** Pause before reconnecting after a lost connection; 0 never reconnects (default 1 s). */
  readonly reconnectMs?: number;
  /** The MQTT client id (default: the device id). */
  readonly clientId?: string;
  /** PEM of the CA that signed the gateway's certificate, for `mqtts:` and `wss:` with a private CA. */
  readonly ca?: string | Buffer;
}

/** What a device has done so far. */
export interface DeviceStats {
  /** Readings handed to the connection. */
  readonly sent: number;
  /** Readings the broker acknowledged with PUBACK (QoS 1 only). */
  readonly acknowledged: number;
  /** Rejection notices received on the errors topic, by code. */
  readonly rejected: Readonly<Record<string, number>>;
  /** Readings that could not be sent or were never acknowledged, and lost connections. */
  readonly errors: number;
  readonly connected: boolean;
}

/** A rejection notice as the gateway publishes it on `devices/{id}/errors`. */
interface Notice {
  code?: unknown;
}

/**
 * One registered device, simulated: connects with its credentials over MQTT
 * 3.1.1 and publishes JSON readings to its own readings topic.
 */
export class VirtualDevice {
  readonly deviceId: string;
  readonly #options: VirtualDeviceOptions;
  readonly #qos: 0 | 1;
  readonly #readings: string;
  readonly #errorsTopic: string;
  #client: MqttClient | undefined;
  #closing = false;
  /** Offline on purpose (a simulated fault): a lost connection is not an error and is not mended. */
  #offline = false;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #sent = 0;
  #acknowledged = 0;
  #errors = 0;
  #inFlight = 0;
  #drained: (() => void) | undefined;
  readonly #rejected = new Map<string, number>();
  readonly #commandsTopic: string;
  readonly #desiredTopic: string;
  readonly #configuration = new SimulatedConfiguration();
  /** Answers already given, by command id: a command delivered again is answered again, not carried out again. */
  readonly #answered = new Map<string, CommandResult>();
  /** The last payloads sent, for resend_backlog. */
  readonly #kept: { at: number; payload: string | Buffer }[] = [];
  #intervalMs: number | undefined;

  constructor(options: VirtualDeviceOptions) {
    this.#options = options;
    this.deviceId = options.credentials.deviceId;
    this.#qos = options.qos ?? 1;
    this.#readings = deviceTopic(this.deviceId, 'readings');
    this.#errorsTopic = deviceTopic(this.deviceId, 'errors');
    this.#commandsTopic = deviceTopic(this.deviceId, 'commands');
    this.#desiredTopic = configTopic(this.deviceId, 'desired');
  }

  /** The reporting interval a set_interval command or the desired configuration asked for, if one did. */
  get intervalMs(): number | undefined {
    return this.#intervalMs;
  }

  /**
   * Connects and, unless told not to, subscribes to the errors topic. Rejects
   * with a SimulatorError that says why (bad credentials, unreachable, ...).
   */
  async connect(): Promise<void> {
    if (this.#client) throw new Error(`${this.deviceId} is already connected`);
    const { url, credentials } = this.#options;
    const timeoutMs = this.#options.connectTimeoutMs ?? 10_000;
    const client = connect(url, {
      protocolVersion: 4,
      clientId: this.#options.clientId ?? this.deviceId,
      username: credentials.username,
      password: credentials.password,
      clean: true,
      // Reconnection is ours (see #onClose): mqtt.js would retry a refused CONNACK forever.
      reconnectPeriod: 0,
      connectTimeout: timeoutMs + 1_000,
      keepalive: 30,
      ...(this.#options.ca === undefined ? {} : { ca: this.#options.ca }),
    });
    this.#client = client;
    try {
      await firstConnack(client, url, this.deviceId, timeoutMs);
    } catch (err) {
      this.#client = undefined;
      await client.endAsync(true);
      throw err;
    }
    client.on('error', (err) => this.#onError(err));
    client.on('close', () => this.#onClose());
    client.on('message', (topic, payload) => this.#onMessage(topic, payload));
    if (this.#options.listenForRejections ?? true) {
      // A refused subscription (SUBACK 0x80) only means no rejection counts; the readings still flow.
      await client.subscribeAsync(this.#errorsTopic, { qos: 0 }).catch(() => undefined);
    }
    await this.#listenForCommands();
  }

  async #listenForCommands(): Promise<void> {
    if (this.#options.obeyCommands === false) return;
    await this.#client?.subscribeAsync(this.#commandsTopic, { qos: 1 }).catch(() => undefined);
    await this.#client?.subscribeAsync(this.#desiredTopic, { qos: 1 }).catch(() => undefined);
  }

  /**
   * Publishes one reading. Returns false, and counts an error, when the device
   * is not connected at that moment.
   */
  publish(reading: Readonly<Record<string, number | string>>): boolean {
    return this.publishPayload(JSON.stringify(reading));
  }

  /** Publishes a payload as it is (JSON text, a SenML pack, binary bytes, or a deliberately broken one). */
  publishPayload(payload: string | Buffer): boolean {
    const client = this.#client;
    if (!client?.connected || this.#closing || this.#offline) {
      this.#errors++;
      return false;
    }
    this.#sent++;
    this.#inFlight++;
    this.#kept.push({ at: Date.now(), payload });
    if (this.#kept.length > KEPT_PAYLOADS) this.#kept.shift();
    client.publish(this.#readings, payload, { qos: this.#qos }, (err) => {
      if (err) this.#errors++;
      else if (this.#qos === 1) this.#acknowledged++;
      if (--this.#inFlight === 0) this.#drained?.();
    });
    return true;
  }

  stats(): DeviceStats {
    return {
      sent: this.#sent,
      acknowledged: this.#acknowledged,
      rejected: Object.fromEntries(this.#rejected),
      errors: this.#errors,
      connected: this.#client?.connected ?? false,
    };
  }

  /** Readings sent but not yet acknowledged (QoS 1) or written (QoS 0). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Waits up to `drainMs` (default 5 s) for readings in flight, then
   * disconnects. Readings still unacknowledged then count as errors.
   */
  async close(drainMs = 5_000): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#reconnectTimer);
    const client = this.#client;
    if (!client) return;
    if (client.connected && this.#inFlight > 0 && drainMs > 0) await this.#waitForDrain(drainMs);
    // A graceful end sends DISCONNECT [MQTT-3.14.4-1]; with nothing in flight it cannot hang.
    await client.endAsync(!client.connected || this.#inFlight > 0);
  }

  /**
   * Drops the connection the way a device losing power or coverage does: the
   * socket closes without DISCONNECT [MQTT-3.14.4-1]. Waits first (up to
   * `drainMs`) for readings in flight, so none is sent twice after the
   * reconnect. Stays offline until goOnline().
   */
  async goOffline(drainMs = 2_000): Promise<void> {
    const client = this.#client;
    if (!client || this.#offline || this.#closing) return;
    if (this.#inFlight > 0) await this.#waitForDrain(drainMs);
    this.#offline = true;
    if (!client.connected) return;
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.stream.destroy();
    await closed;
  }

  /** Reconnects after goOffline() and listens for rejection notices again; resolves on CONNACK. */
  async goOnline(timeoutMs = this.#options.connectTimeoutMs ?? 10_000): Promise<void> {
    const client = this.#client;
    if (!client || !this.#offline || this.#closing) return;
    this.#offline = false;
    const connected = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new SimulatorError('timeout', `no CONNACK for ${this.deviceId} within ${timeoutMs} ms after going online`)),
        timeoutMs,
      );
      client.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    client.reconnect();
    await connected;
    if (this.#options.listenForRejections ?? true) await client.subscribeAsync(this.#errorsTopic, { qos: 0 }).catch(() => undefined);
    await this.#listenForCommands();
  }

  #waitForDrain(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const previous = this.#drained;
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#drained = () => {
        previous?.();
        done();
      };
    });
  }

  #onMessage(topic: string, payload: Buffer): void {
    if (topic === this.#commandsTopic) return void this.#onCommand(payload);
    if (topic === this.#desiredTopic) return this.#onDesired(payload);
    if (topic !== this.#errorsTopic) return;
    let code = 'UNREADABLE_NOTICE';
    try {
      const notice = JSON.parse(payload.toString('utf8')) as Notice;
      if (typeof notice?.code === 'string') code = notice.code;
    } catch {
      // keep UNREADABLE_NOTICE: the gateway's notice did not parse
    }
    this.#rejected.set(code, (this.#rejected.get(code) ?? 0) + 1);
  }

  async #onCommand(payload: Buffer): Promise<void> {
    let message;
    try {
      message = commandMessageSchema.parse(JSON.parse(payload.toString('utf8')));
    } catch {
      return; // not a command: nothing to answer
    }
    let result = this.#answered.get(message.id);
    if (!result) {
      result =
        Date.parse(message.expiresAt) <= Date.now()
          ? { ok: false, error: 'expired before it arrived' }
          : await obey(message, {
              setInterval: (ms) => {
                this.#intervalMs = ms;
                this.#report(this.#configuration.intervalSet(ms / 1000));
              },
              reboot: async () => {
                await this.goOffline();
                await this.goOnline();
              },
              resend: (since) => {
                const again = this.#kept.filter((k) => since === undefined || k.at >= since);
                for (const k of again) this.publishPayload(k.payload);
                return again.length;
              },
            });
      this.#answered.set(message.id, result);
    }
    this.#client?.publish(commandResultTopic(this.deviceId, message.id), JSON.stringify(result), { qos: 1 });
  }

  /** A desired configuration: applied once per version, and reported. */
  #onDesired(payload: Buffer): void {
    const report = this.#configuration.apply(payload, (ms) => (this.#intervalMs = ms));
    if (report) this.#report(report);
  }

  #report(report: ReportedConfigMessage): void {
    this.#client?.publish(configTopic(this.deviceId, 'reported'), JSON.stringify(report), { qos: 1 });
  }

  #onError(err: Error): void {
    // A refused CONNACK on a reconnect: the credentials were revoked or the pilot ended; stop trying.
    if (typeof (err as { code?: unknown }).code === 'number') this.#closing = true;
  }

  #onClose(): void {
    if (this.#closing || this.#offline) return;
    this.#errors++; // a lost connection
    const pause = this.#options.reconnectMs ?? 1_000;
    if (pause <= 0) return;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => {
      if (!this.#closing) this.#client?.reconnect();
    }, pause);
  }
}

/** How many sent payloads a device keeps for resend_backlog. */
const KEPT_PAYLOADS = 100;

/** Resolves on CONNACK 0; rejects with what went wrong otherwise. */
function firstConnack(client: MqttClient, url: string, deviceId: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (err?: Error) => {
      clearTimeout(timer);
      client.off('connect', onConnect);
      client.off('error', onError);
      client.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onConnect = () => settle();
    const onError = (err: Error) => settle(connectError(err, url, deviceId));
    const onClose = () => settle(new SimulatorError('refused', `${url} closed the connection of ${deviceId} before CONNACK`));
    const timer = setTimeout(() => settle(new SimulatorError('timeout', `no CONNACK from ${url} for ${deviceId} within ${timeoutMs} ms`)), timeoutMs);
    client.on('connect', onConnect);
    client.on('error', onError);
    client.on('close', onClose);
  });
}
