import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Ingest, LiveFeed } from '../ingest/index.js';
import type { PilotLifecycle } from '../lifecycle/index.js';
import type { ClusterView, EventBus, Logger, WebhookUrlPolicy } from '../core/index.js';
import type { TestbedRegistry } from '../registry/index.js';
import type { ReadingStore, RejectionLog } from '../store/index.js';
import type { ProfileCatalogue } from '../device-profiles/index.js';
import type { CursorCodec } from './cursor.js';
import type { ApiLimits } from './limits.js';
import type { KeyGuards } from './key-guard.js';
import type { RateBuckets, RateLimit } from './rate-limit.js';

/**
 * The gateway's view of device connections, for rotating and revoking secrets
 * and for the connection status in device listings.
 */
export interface DeviceSessions {
  /** Closes the device's MQTT connection, if it has one; `reason` is what its disconnect event says (revoked by default). */
  disconnect(deviceId: string, reason?: 'revoked' | 'pilot ended'): void;
  isOnline(deviceId: string): boolean;
  /** Epoch ms of the device's last CONNECT or message, if it has been seen since start. */
  lastSeen(deviceId: string): number | undefined;
  /** MQTT connections open now, for `GET /v1/health`. */
  connectedDevices(): number;
}

/** The health stage, as the API reads it: what the registry does not keep. */
export interface HealthView {
  /** A device's rejected messages of the last hour, by code. */
  rejectionsLastHour(deviceId: string): Record<string, number>;
  /** The gateway's own state, for a testbed's health view. */
  gatewayState(): {
    readonly connections: number;
    readonly queue: { readonly depthBytes: number; readonly oldestAgeMs: number | null };
    readonly store: { readonly reachable: boolean; readonly unreachableSince: number | null };
  };
}

/** What the API needs from the rest of the pipeline; the composition root provides it. */
export interface ApiDeps {
  /** The one door to tenant data: every read and write takes the caller's scope. */
  readonly registry: TestbedRegistry;
  readonly readings: ReadingStore;
  readonly rejections: RejectionLog;
  readonly profiles: ProfileCatalogue;
  readonly log: Logger;
  /** The broker address devices are told in registration answers (`mqtt.url`): TESTBED_PUBLIC_MQTT_URL, or the gateway's own. */
  readonly mqttUrl: string;
  /** The ingest stage, for `GET /v1/health` (its status and counters); without it health answers only `{ status: 'ok' }`. */
  readonly ingest?: Pick<Ingest, 'health'> | undefined;
  /** Which node this is and the cluster it sees, for `GET /v1/health`; without it health names no node. */
  readonly cluster?: ClusterView | undefined;
  /** Readings as they are stored, for `GET /v1/pilots/{pilotId}/live`; without it that route answers 503. */
  readonly live?: LiveFeed | undefined;
  /** The gateway's device connections; without it devices show as offline and nothing is disconnected. */
  readonly sessions?: DeviceSessions | undefined;
  /** Device health beyond what the registry keeps; without it rejections show as none and the gateway state as unknown. */
  readonly health?: HealthView | undefined;
  /**
   * The event bus: live streams carry its alerts, and `command.queued` is published on it so the
   * gateway delivers at once; without it live streams carry readings only and the gateway's sweep
   * finds new commands within a second.
   */
  readonly events?: EventBus | undefined;
  /** Per-key request rate; the defaults are in limits.ts. */
  readonly rateLimit?: RateLimit | undefined;
  /** Request rate of all keys of one company together; the defaults are in limits.ts. */
  readonly companyRateLimit?: RateLimit | undefined;
  /** Request rate without a key, per client address; the defaults are in limits.ts. */
  readonly anonymousRateLimit?: RateLimit | undefined;
  /** Rate limits that several gateway nodes share (cluster/); without it each process counts its own requests. */
  readonly rateBuckets?: RateBuckets | undefined;
  /** Query and live-stream limits; the defaults are in limits.ts (tests lower them). */
  readonly limits?: Partial<ApiLimits> | undefined;
  /** Which webhook URLs may be created (TESTBED_WEBHOOK_ALLOWED_HOSTS); without it only public addresses. */
  readonly webhookUrls?: WebhookUrlPolicy | undefined;
  /** Prometheus metrics for `GET /metrics` (admin and operator keys); without it that route answers 503. */
  readonly metrics?: { readonly contentType: string; metrics(): Promise<string> } | undefined;
  /** Told of every answered request: its route pattern (`unmatched` for none), status and duration. */
  readonly observeRequest?: ((route: string, status: number, seconds: number) => void) | undefined;
  /** Export bundles, erasure and receipts (the lifecycle stage); without it those routes answer 503. */
  readonly lifecycle?: PilotLifecycle | undefined;
  /** The built web console (`console/dist`), served at `/`; without it `/` is a 404. */
  readonly consoleDir?: string | undefined;
  /** Map tiles for the console (`{z}/{x}/{y}` template); undefined: none. */
  readonly consoleTileUrl?: string | undefined;
}

/** The options every route plugin is registered with. */
export interface RouteOptions {
  readonly deps: ApiDeps;
  /** The limits in force: the defaults with `deps.limits` over them. */
  readonly limits: ApiLimits;
  readonly cursors: CursorCodec;
  /** Key rate limits and the failed-key throttle, shared by every route that reads a key. */
  readonly keys: KeyGuards;
}

/** The Fastify instance of the API, with zod schemas for types. */
export type ApiInstance = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger, ZodTypeProvider>;
