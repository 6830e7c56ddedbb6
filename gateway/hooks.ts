import type { AedesOptions, AuthenticateError, Client } from 'aedes';
import { type Config, type DeviceContext, type DisconnectReason, type ErrorCode, type Logger, FailureThrottle, deviceTopic } from '../core/index.js';
import type { Ingest } from '../ingest/index.js';
import type { Rejection } from '../store/index.js';
import { accessOf, maySubscribe, pilotWindow, publishTarget, type DeviceAccess } from './acl.js';
import { releaseConnectPacket } from './lean-client.js';
import { keepaliveFor, printable, sessionKey, willProblem, type Will } from './connect-policy.js';
import { RateLimiter } from './throttle.js';

// CONNACK return codes, MQTT 3.1.1 section 3.2.2.3.
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

/** Bursts are ten seconds' worth of a rate. */
export const BURST_SECONDS = 10;

/**
 * While other connections wait for their CONNECT to be answered (a connect
 * storm), a credential check waits up to this long for others to share its
 * registry lookup; a lone CONNECT is looked up at once. In a storm of 10,000
 * the lookups then go about 85 to a query instead of one each, and the
 * gateway's event loop, the storm's bottleneck, spends about 40 % less per
 * CONNECT (`npm run bench:connections`).
 */
export const CREDENTIAL_WAIT_MS = 10;

/** What the gateway needs from the registry: one credential check at CONNECT. */
export interface DeviceAuthenticator {
  /** `waitMs`: how long the check may wait for others to share its lookup (CONNECTs arriving together). */
  authenticateDevice(username: string, password: Buffer, waitMs?: number): Promise<DeviceContext | undefined>;
}

export type Session = DeviceAccess & { readonly connection: number; readonly statusTopic: string };

/** What the hooks share with the rest of the gateway. */
export interface HookContext {
  readonly config: Config;
  readonly log: Logger;
  readonly devices: DeviceAuthenticator;
  readonly ingest: Pick<Ingest, 'accept' | 'refusing'>;
  readonly sessions: WeakMap<Client, Session>;
  /** Messages per second per device (kept by the gateway, which forgets an erased device's bucket). */
  readonly messages: RateLimiter;
  /** The client address of a connection, keyed by its stream. */
  peerOf(client: Client): string;
  /** Open connections of a device. */
  connectionsOf(deviceId: string): number;
  /** The connected client holding a session key, if any. */
  holderOf(key: string): Client | undefined;
  /** Connections whose CONNECT has not been answered yet, this one included. */
  connectsWaiting(): number;
  track(client: Client, device: DeviceContext): void;
  /** Notes why the gateway is about to close a connection (its disconnect event says it). */
  closing(client: Client, reason: DisconnectReason): void;
  /** A device's will was published (on its status topic, the only place a will may go). */
  will(device: DeviceContext, payload: string, at: number): void;
  seen(deviceId: string, at: number): void;
  notify(rejection: Pick<Rejection, 'deviceId' | 'code' | 'reason'>): void;
  /** Records a device's result for one of its commands; the refusal when it is not recorded. */
  answered(deviceId: string, commandId: string, payload: Buffer): Promise<{ code: ErrorCode; reason: string } | undefined>;
  /** Records a device's configuration report; the refusal when it is not recorded. */
  reported(device: DeviceContext, payload: Buffer): Promise<{ code: ErrorCode; reason: string } | undefined>;
}

function refuse(code: ErrorCode, message: string, returnCode: number): AuthenticateError {
  return Object.assign(new Error(`${code}: ${message}`), { returnCode }) as AuthenticateError;
}

/** The Aedes hooks: each translates between MQTT and the policy in acl.ts, connect-policy.ts and throttle.ts. */
export function brokerHooks(ctx: HookContext): Pick<AedesOptions, 'preConnect' | 'authenticate' | 'authorizePublish' | 'authorizeSubscribe'> {
  const { config, log, sessions } = ctx;
  const limits = config.limits.mqtt;
  const connects = new RateLimiter(limits.connectsPerSecondPerIp, limits.connectsPerSecondPerIp * BURST_SECONDS);
  const logins = new FailureThrottle();
  let connectionCount = 0;
  const reading = readingReceiver(ctx);
  const stillRunning = (client: Client, session: Session, now: number, done: Done) => pilotRunning(ctx, client, session, now, done);

  return {
    preConnect(_client, packet, done) {
      // [MQTT-3.1.2-24] keepalive 0 or beyond the maximum is replaced by the maximum.
      packet.keepalive = keepaliveFor(packet.keepalive, limits.maxKeepaliveSeconds);
      done(null, true);
    },

    authenticate(client, username, password, done) {
      const peer = ctx.peerOf(client);
      const now = Date.now();
      const deny = (code: ErrorCode, message: string, returnCode: number, fields: object = {}) => {
        log.info({ code, remoteAddress: peer, username: printable(username), ...fields }, `refused CONNECT: ${message}`);
        done(refuse(code, message, returnCode), false);
      };
      if (connects.take(peer, now) > 0) {
        return deny('TESTBED_CONNECT_RATE_LIMITED', 'too many CONNECTs from this address', SERVER_UNAVAILABLE);
      }
      // Per address and per address+username, never per username alone (see FailureThrottle);
      // the name is capped so that megabyte usernames cannot grow the tables.
      const name = (username ?? '').slice(0, 256);
      const wait = logins.wait(peer, name, now);
      if (wait > 0) {
        return deny('TESTBED_LOGIN_THROTTLED', 'too many failed logins', NOT_AUTHORIZED, { retryAfterSeconds: Math.ceil(wait / 1000) });
      }
      const waitMs = ctx.connectsWaiting() > 1 ? CREDENTIAL_WAIT_MS : 0;
      const lookup = username && password ? ctx.devices.authenticateDevice(username, password, waitMs) : Promise.resolve(undefined);
      lookup.then(
        (device) => admit(device),
        (err: unknown) => {
          log.error({ err, remoteAddress: peer }, 'the registry did not answer at CONNECT');
          deny('TESTBED_REGISTRY_UNAVAILABLE', 'the registry is unavailable', SERVER_UNAVAILABLE);
        },
      );

      // The rest of the check, once the registry has answered; Aedes waits for `done`.
      function admit(device: DeviceContext | undefined): void {
        if (!device) {
          logins.failed(peer, name, now);
          return deny('TESTBED_UNAUTHORIZED', 'bad username or password', BAD_USERNAME_OR_PASSWORD);
        }
        logins.succeeded(peer, name);
        if (client.closed) return done(null, false); // gone while the registry answered: nothing to track
        const fields = { deviceId: device.deviceId };
        // Nothing could be acknowledged now: the device keeps its readings and comes back later.
        const refusing = ctx.ingest.refusing();
        if (refusing) return deny('TESTBED_DISK_LOW', refusing, SERVER_UNAVAILABLE, fields);
        const window = pilotWindow(device, now);
        if (window !== 'active') return deny('TESTBED_FORBIDDEN', `pilot ${window}`, NOT_AUTHORIZED, fields);
        const will = (client as unknown as { _will?: Will | null })._will;
        const problem = willProblem(device, will);
        if (problem) return deny('TESTBED_WILL_NOT_ALLOWED', problem, NOT_AUTHORIZED, fields);
        // Client ids are scoped to the device (see sessionKey): a takeover [MQTT-3.1.4-2]
        // can only be by the same device, and does not count against its cap.
        client.id = sessionKey(device.deviceId, client.id);
        const holder = ctx.holderOf(client.id);
        if (holder) ctx.closing(holder, 'taken over'); // [MQTT-3.1.4-2] the old connection is closed for the new one
        if (!holder && ctx.connectionsOf(device.deviceId) >= limits.maxConnectionsPerDevice) {
          return deny('TESTBED_CONNECTION_LIMIT', `device has ${limits.maxConnectionsPerDevice} connections already`, SERVER_UNAVAILABLE, fields);
        }
        sessions.set(client, { ...accessOf(device), connection: ++connectionCount, statusTopic: deviceTopic(device.deviceId, 'status') });
        ctx.track(client, device);
        releaseConnectPacket(client);
        done(null, true);
      }
    },

    authorizePublish(client, packet, done) {
      if (client === null) return done(null); // the broker's own notices
      const session = sessions.get(client);
      if (session && packet.topic === session.statusTopic && packet.qos < 2) {
        packet.retain = false; // the device's will or status: passed on to its own subscribers, never stored as a reading
        // Aedes authorises the will as it publishes it, while `client.will` still holds it.
        if ((client as unknown as { will?: unknown }).will === packet) {
          ctx.will(
            session.device,
            printable(
              Buffer.from(packet.payload as Buffer)
                .subarray(0, 256)
                .toString('utf8'),
            ),
            Date.now(),
          );
        }
        return done(null);
      }
      const target = session && publishTarget(session, packet.topic);
      if (!session || !target) {
        // [MQTT-3.3.5-2] An unauthorised PUBLISH cannot be refused in 3.1.1; the connection is closed.
        log.warn({ deviceId: session?.device.deviceId, topic: printable(packet.topic) }, 'closed connection: publish outside its own topics');
        ctx.closing(client, 'policy violation');
        return done(new Error(`not authorised to publish to ${packet.topic}`));
      }
      const { device } = session;
      if (packet.qos === 2) {
        log.info({ code: 'TESTBED_QOS_NOT_SUPPORTED', deviceId: device.deviceId }, 'closed connection: QoS 2 PUBLISH');
        ctx.closing(client, 'policy violation');
        return done(new Error('QoS 2 is not supported'));
      }
      // Readings and results are not retained messages; the store and the registry keep them.
      packet.retain = false;
      if (target.kind === 'readings') return reading(client, session, packet, done);
      if (!stillRunning(client, session, Date.now(), done)) return;
      // Acknowledged once the registry has recorded it; when it cannot, the connection closes unacknowledged and the device sends it again.
      const recorded = (record: Promise<{ code: ErrorCode; reason: string } | undefined>, fields: object, what: string) =>
        void record.then(
          (refused) => {
            if (refused) {
              log.warn({ code: refused.code, deviceId: device.deviceId, ...fields }, `refused ${what}: ${refused.reason}`);
              ctx.notify({ deviceId: device.deviceId, ...refused });
            }
            done(null);
          },
          (err: unknown) => {
            log.warn({ code: 'TESTBED_REGISTRY_UNAVAILABLE', deviceId: device.deviceId, err }, `${what} not recorded: the registry did not answer`);
            done(new Error('the registry is unavailable'));
          },
        );
      if (target.kind === 'result') {
        return recorded(ctx.answered(device.deviceId, target.commandId, packet.payload as Buffer), { commandId: target.commandId }, 'command result');
      }
      return recorded(ctx.reported(device, packet.payload as Buffer), {}, 'configuration report');
    },

    authorizeSubscribe(client, subscription, done) {
      const session = sessions.get(client);
      if (!session || !maySubscribe(session, subscription.topic)) {
        log.info({ deviceId: session?.device.deviceId, topic: printable(subscription.topic) }, 'refused SUBSCRIBE outside its own topics');
        return done(null, null); // SUBACK return code 0x80 [MQTT-3.9.3]
      }
      // The contract is QoS 0 and 1: a QoS 2 subscription is granted at QoS 1 [MQTT-3.9.3-1 allows a lower grant].
      if (subscription.qos > 1) subscription.qos = 1;
      done(null, subscription);
    },
  };
}

/** A PUBLISH on a device's own readings topic, as the gateway takes it (from the broker's hook, or straight from the parser: see readings-path.ts). */
export interface ReadingPacket {
  readonly payload: Buffer | string;
  readonly qos: number;
  readonly messageId?: number | undefined;
  readonly dup: boolean;
}

type Done = (error?: Error | null) => void;

/**
 * Takes a PUBLISH on the device's own readings topic at QoS 0 or 1 (the caller
 * has checked both): the pilot must be running, the device is noted as seen,
 * and the reading goes to ingest once the device's message rate allows.
 * `done` is called once it may be acknowledged (QoS 1: once on disk), or with
 * the error that closes the connection unacknowledged.
 */
export type ReceiveReading = (client: Client, session: Session, packet: ReadingPacket, done: Done) => void;

/** Whether the device's pilot still runs; when it has ended the connection is closed (`done` with an error). */
function pilotRunning(ctx: Pick<HookContext, 'log' | 'closing' | 'seen'>, client: Client, session: Session, now: number, done: Done): boolean {
  if (pilotWindow(session.device, now) !== 'active') {
    ctx.log.info({ deviceId: session.device.deviceId }, 'closed connection: pilot has ended');
    ctx.closing(client, 'pilot ended');
    done(new Error('pilot has ended'));
    return false;
  }
  ctx.seen(session.device.deviceId, now);
  return true;
}

/** The one way a reading enters the gateway, whether the broker's hook or the readings path (readings-path.ts) took it. */
export function readingReceiver(ctx: Pick<HookContext, 'log' | 'closing' | 'seen' | 'ingest' | 'messages' | 'notify'>): ReceiveReading {
  const { messages } = ctx;
  return (client, session, packet, done) => {
    const now = Date.now();
    if (!pilotRunning(ctx, client, session, now, done)) return;
    // Beyond its message rate a device is read more slowly: the broker reads no
    // more of its socket until this callback, so TCP pushes back on the sender.
    const wait = messages.take(session.device.deviceId, now, true);
    if (wait === 0) return toIngest(ctx, client, session, packet, done);
    setTimeout(toIngest, wait, ctx, client, session, packet, done).unref();
  };
}

/** Hands the reading to ingest (unless its connection closed meanwhile) and echoes its rejections to the device. */
function toIngest(ctx: Pick<HookContext, 'ingest' | 'notify'>, client: Client, session: Session, packet: ReadingPacket, done: Done): void {
  if (client.closed) return done(new Error('connection closed'));
  const message = { payload: packet.payload as Buffer, qos: packet.qos, messageId: packet.messageId, dup: packet.dup, connection: session.connection };
  const outcome = ctx.ingest.accept(session.device, message, done);
  for (const rejection of outcome.rejections) ctx.notify(rejection);
}
