import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { limitsOf, limitsSchema, type Limits } from './config-limits.js';
import { TestbedError } from './errors.js';
import type { TlsFiles } from './tls.js';

export type { Limits } from './config-limits.js';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const optionalString = z
  .string()
  .trim()
  .transform((s) => (s === '' ? undefined : s))
  .optional();

/**
 * Every environment variable the pipeline reads, with its default. This file
 * (this schema and `clientEnvSchema` below) is the only place that knows the
 * variable names; the README's configuration table documents the same list.
 */
const serverEnv = z.object({
  TESTBED_HOST: z.string().min(1).default('127.0.0.1'),
  TESTBED_NODE_ID: optionalString.pipe(
    z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit')
      .optional(),
  ),
  TESTBED_MQTT_PORT: z.union([z.literal('off'), port]).default(1883),
  TESTBED_PUBLIC_MQTT_URL: optionalString.pipe(
    z.url({ protocol: /^(mqtts?|wss?)$/, error: 'must be a URL such as mqtt://host:1883 (mqtt, mqtts, ws or wss)' }).optional(),
  ),
  TESTBED_MQTTS_PORT: z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), port.optional()),
  TESTBED_HTTP_PORT: port.default(8080),
  TESTBED_HTTPS: z.enum(['on', 'off']).default('off'),
  TESTBED_TLS_CERT: optionalString,
  TESTBED_TLS_KEY: optionalString,
  TESTBED_TLS_CA: optionalString,
  TESTBED_TRUSTED_PROXIES: optionalString,
  TESTBED_DATA_DIR: z.string().min(1).default('./data'),
  TESTBED_REGISTRY_FILE: optionalString,
  TESTBED_DATABASE_URL: optionalString.pipe(
    z.url({ protocol: /^postgres(ql)?$/, error: 'must be a URL such as postgres://user:password@127.0.0.1:5432/testbed (postgres or postgresql)' }).optional(),
  ),
  TESTBED_ADMIN_TOKEN: optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  TESTBED_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TESTBED_LOG_FORMAT: z.enum(['auto', 'pretty', 'json']).default('auto'),
  TESTBED_PROFILES_DIR: optionalString,

  TESTBED_INFLUX_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
  TESTBED_INFLUX_TOKEN: optionalString,
  TESTBED_INFLUX_BUCKET: z.string().min(1).default('testbed'),
  TESTBED_INFLUX_ORG: optionalString,
  TESTBED_REDIS_URL: optionalString.pipe(z.url({ protocol: /^rediss?$/, error: 'must be a URL such as redis://127.0.0.1:6379 (redis or rediss)' }).optional()),

  TESTBED_MAX_PAYLOAD_BYTES: positiveInt.max(1024 * 1024).default(16 * 1024),
  TESTBED_MAX_PACKET_BYTES: positiveInt
    .min(1024)
    .max(256 * 1024 * 1024)
    .default(256 * 1024),
  TESTBED_MAX_FUTURE_SECONDS: positiveInt.default(600),
  TESTBED_MAX_AGE_DAYS: positiveInt.default(365),
  TESTBED_BATCH_SIZE: positiveInt.max(50_000).default(1000),
  TESTBED_FLUSH_MS: positiveInt.max(60_000).default(100),
  TESTBED_QUEUE_MAX_BYTES: positiveInt.min(1024 * 1024, 'must be at least 1 MiB').default(1024 * 1024 * 1024),
  TESTBED_SHUTDOWN_SECONDS: positiveInt.max(3600).default(10),
  TESTBED_RETRY_MAX_SECONDS: positiveInt.max(3600).default(30),
  TESTBED_HEALTH_EVALUATE_MS: positiveInt.min(50).max(600_000).default(5000),
  TESTBED_METRICS_PORT: z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), port.optional()),
  TESTBED_WEBHOOK_ALLOWED_HOSTS: optionalString,
  // Standard Webhooks' suggested schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (about 27.5 hours in all).
  TESTBED_WEBHOOK_RETRY_SECONDS: z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?(\s*,\s*\d+(\.\d+)?)*$/, 'must be a comma list of seconds, e.g. 5,300,1800')
    .default('5,300,1800,7200,18000,36000,36000'),
  TESTBED_CONSOLE_TILE_URL: optionalString.pipe(
    z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL template such as https://tiles.example.org/{z}/{x}/{y}.png' })
      .refine((u) => ['{z}', '{x}', '{y}'].every((p) => decodeURI(u).includes(p)), 'must contain {z}, {x} and {y}')
      .optional(),
  ),
  ...limitsSchema,
});

export const envSchema = serverEnv
  .refine((e) => e.TESTBED_MAX_PACKET_BYTES > e.TESTBED_MAX_PAYLOAD_BYTES, {
    path: ['TESTBED_MAX_PACKET_BYTES'],
    message: 'must be larger than TESTBED_MAX_PAYLOAD_BYTES (a payload between the two becomes a rejection; a packet over this closes its connection)',
  })
  .refine((e) => (e.TESTBED_TLS_CERT === undefined) === (e.TESTBED_TLS_KEY === undefined), {
    path: ['TESTBED_TLS_KEY'],
    message: 'TESTBED_TLS_CERT and TESTBED_TLS_KEY go together: set both or neither',
  })
  .refine((e) => e.TESTBED_MQTTS_PORT === undefined || e.TESTBED_TLS_CERT !== undefined, {
    path: ['TESTBED_MQTTS_PORT'],
    message: 'needs TESTBED_TLS_CERT and TESTBED_TLS_KEY',
  })
  .refine((e) => e.TESTBED_HTTPS === 'off' || e.TESTBED_TLS_CERT !== undefined, {
    path: ['TESTBED_HTTPS'],
    message: 'on needs TESTBED_TLS_CERT and TESTBED_TLS_KEY',
  })
  .refine((e) => (e.TESTBED_TRUSTED_PROXIES ?? '').split(',').every((entry) => entry.trim() === '' || isAddressOrRange(entry.trim())), {
    path: ['TESTBED_TRUSTED_PROXIES'],
    message: 'must be a comma-separated list of IP addresses or CIDR ranges (e.g. 10.0.0.1,192.168.0.0/16)',
  })
  .refine((e) => e.TESTBED_TLS_CA === undefined || e.TESTBED_TLS_CERT !== undefined, {
    path: ['TESTBED_TLS_CA'],
    message: 'needs TESTBED_TLS_CERT and TESTBED_TLS_KEY',
  });

function isAddressOrRange(entry: string): boolean {
  const [address = '', bits, extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n <= (family === 4 ? 32 : 128);
}

export interface InfluxConfig {
  readonly url: string;
  readonly token: string | undefined;
  readonly bucket: string;
  readonly org: string | undefined;
}

export interface Config {
  readonly host: string;
  /** This process's name in a cluster (TESTBED_NODE_ID), `<hostname>-<pid>` unless set. */
  readonly nodeId: string;
  readonly mqtt: {
    /** The plain TCP listener; undefined when switched off (`TESTBED_MQTT_PORT=off`). */
    readonly port: number | undefined;
    /** The MQTT over TLS listener; undefined when not configured. */
    readonly tlsPort: number | undefined;
    /** A longer MQTT packet closes its connection as soon as its header arrives. */
    readonly maxPacketBytes: number;
    /**
     * The broker address told to devices when they are registered, for a gateway
     * behind a load balancer or a public name; undefined: this gateway's own
     * `mqtt://<host>:<port>`.
     */
    readonly publicUrl: string | undefined;
  };
  readonly http: {
    readonly port: number;
    /** HTTPS (and so WebSocket over TLS) with the certificate in `tls`. */
    readonly https: boolean;
    /** Addresses or CIDR ranges whose X-Forwarded-For is believed (a reverse proxy in front). */
    readonly trustedProxies: readonly string[];
  };
  /** The server certificate for MQTTS and HTTPS; undefined without `TESTBED_TLS_CERT`. */
  readonly tls: TlsFiles | undefined;
  /** Connection, rate and timeout limits (the README's Limits table). */
  readonly limits: Limits;
  readonly dataDir: string;
  /** The embedded registry's SQLite file (TESTBED_REGISTRY_FILE): `registry.db` in the data folder unless set; nodes on one machine may share one. */
  readonly registryFile: string;
  /** PostgreSQL holds the registry instead (TESTBED_DATABASE_URL), shared by every node; undefined: the SQLite file. */
  readonly databaseUrl: string | undefined;
  readonly adminToken: string | undefined;
  readonly logLevel: z.infer<typeof envSchema>['TESTBED_LOG_LEVEL'];
  /** `auto`: human-readable on a terminal, JSON lines otherwise (the command line decides which). */
  readonly logFormat: z.infer<typeof envSchema>['TESTBED_LOG_FORMAT'];
  /** Folder of device profiles; undefined means the profiles that ship with the package. */
  readonly profilesDir: string | undefined;
  /** InfluxDB is the reading store when set; otherwise the embedded store is. */
  readonly influx: InfluxConfig | undefined;
  /** Redis that nodes share (`TESTBED_REDIS_URL`); undefined: one node, nothing shared. */
  readonly redisUrl: string | undefined;
  readonly ingest: {
    readonly maxPayloadBytes: number;
    readonly maxFutureMs: number;
    readonly maxAgeMs: number;
    readonly batchSize: number;
    readonly flushIntervalMs: number;
    /** Undelivered bytes the queue on disk may hold; past it the gateway stops acknowledging. */
    readonly queueMaxBytes: number;
    /** How long a stop may spend delivering the queue before it exits. */
    readonly shutdownMs: number;
    /** The longest wait between two attempts of a failed store write. */
    readonly retryMaxMs: number;
  };
  readonly health: {
    /** How often device statuses and alert rules are evaluated (and batched health writes flushed). */
    readonly evaluateMs: number;
  };
  /** `GET /metrics` on a port of its own (no key), bound to `host`; undefined: only on the API's port, with a key. */
  readonly metricsPort: number | undefined;
  readonly webhooks: {
    /** Host names or addresses a webhook may point at even when they are loopback, link-local or private. */
    readonly allowedHosts: readonly string[];
    /** The waits between delivery attempts, in ms; a delivery fails for good after the last. */
    readonly retryDelaysMs: readonly number[];
  };
  /** The web console's map tiles (`{z}/{x}/{y}` template); undefined: markers on a plain background, nothing fetched. */
  readonly consoleTileUrl: string | undefined;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * Parses the environment once, at start, into a frozen Config. Every problem is
 * reported in one TESTBED_CONFIG_INVALID error, one line per variable.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) throw invalid(parsed.error);
  const e = parsed.data;
  return deepFreeze({
    host: e.TESTBED_HOST,
    nodeId: e.TESTBED_NODE_ID ?? `${os.hostname()}-${process.pid}`,
    mqtt: {
      port: e.TESTBED_MQTT_PORT === 'off' ? undefined : e.TESTBED_MQTT_PORT,
      tlsPort: e.TESTBED_MQTTS_PORT,
      maxPacketBytes: e.TESTBED_MAX_PACKET_BYTES,
      publicUrl: e.TESTBED_PUBLIC_MQTT_URL,
    },
    http: {
      port: e.TESTBED_HTTP_PORT,
      https: e.TESTBED_HTTPS === 'on',
      trustedProxies: (e.TESTBED_TRUSTED_PROXIES ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    },
    tls:
      e.TESTBED_TLS_CERT === undefined || e.TESTBED_TLS_KEY === undefined
        ? undefined
        : {
            cert: path.resolve(e.TESTBED_TLS_CERT),
            key: path.resolve(e.TESTBED_TLS_KEY),
            ca: e.TESTBED_TLS_CA === undefined ? undefined : path.resolve(e.TESTBED_TLS_CA),
          },
    limits: limitsOf(e),
    dataDir: path.resolve(e.TESTBED_DATA_DIR),
    registryFile: path.resolve(e.TESTBED_REGISTRY_FILE ?? path.join(e.TESTBED_DATA_DIR, 'registry.db')),
    databaseUrl: e.TESTBED_DATABASE_URL,
    adminToken: e.TESTBED_ADMIN_TOKEN,
    logLevel: e.TESTBED_LOG_LEVEL,
    logFormat: e.TESTBED_LOG_FORMAT,
    profilesDir: e.TESTBED_PROFILES_DIR === undefined ? undefined : path.resolve(e.TESTBED_PROFILES_DIR),
    influx:
      e.TESTBED_INFLUX_URL === undefined
        ? undefined
        : { url: e.TESTBED_INFLUX_URL, token: e.TESTBED_INFLUX_TOKEN, bucket: e.TESTBED_INFLUX_BUCKET, org: e.TESTBED_INFLUX_ORG },
    redisUrl: e.TESTBED_REDIS_URL,
    ingest: {
      maxPayloadBytes: e.TESTBED_MAX_PAYLOAD_BYTES,
      maxFutureMs: e.TESTBED_MAX_FUTURE_SECONDS * 1000,
      maxAgeMs: e.TESTBED_MAX_AGE_DAYS * 86_400_000,
      batchSize: e.TESTBED_BATCH_SIZE,
      flushIntervalMs: e.TESTBED_FLUSH_MS,
      queueMaxBytes: e.TESTBED_QUEUE_MAX_BYTES,
      shutdownMs: e.TESTBED_SHUTDOWN_SECONDS * 1000,
      retryMaxMs: e.TESTBED_RETRY_MAX_SECONDS * 1000,
    },
    health: { evaluateMs: e.TESTBED_HEALTH_EVALUATE_MS },
    metricsPort: e.TESTBED_METRICS_PORT,
    webhooks: {
      allowedHosts: (e.TESTBED_WEBHOOK_ALLOWED_HOSTS ?? '')
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter((h) => h !== ''),
      retryDelaysMs: e.TESTBED_WEBHOOK_RETRY_SECONDS.split(',').map((s) => Math.round(Number(s) * 1000)),
    },
    consoleTileUrl: e.TESTBED_CONSOLE_TILE_URL === undefined ? undefined : decodeURI(e.TESTBED_CONSOLE_TILE_URL),
  });
}

/** One TESTBED_CONFIG_INVALID error listing every problem, one line per variable. */
function invalid(error: z.ZodError): TestbedError {
  const lines = error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
  return new TestbedError('TESTBED_CONFIG_INVALID', `Invalid configuration:\n${lines.join('\n')}`);
}

/**
 * What the command line's client commands (`testbed companies|pilots|devices|keys`,
 * `testbed simulate`) read: where the API and the gateway are, which key to use,
 * and the gateway's time window. The server's variables keep their definitions;
 * `--url`, `--key` and the like win over these.
 */
export const clientEnvSchema = serverEnv
  .pick({ TESTBED_HTTP_PORT: true, TESTBED_MQTT_PORT: true, TESTBED_MAX_FUTURE_SECONDS: true, TESTBED_MAX_AGE_DAYS: true })
  .extend({
    TESTBED_API_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
    TESTBED_API_KEY: optionalString,
  });

export interface ClientConfig {
  /** The API's base address, without a trailing slash; the local server's (127.0.0.1, TESTBED_HTTP_PORT) by default. */
  readonly apiUrl: string;
  readonly apiKey: string | undefined;
  /** The local gateway's address (127.0.0.1, TESTBED_MQTT_PORT). */
  readonly mqttUrl: string;
  /** The gateway's time window, as its configuration says. */
  readonly window: { readonly maxFutureSeconds: number; readonly maxAgeDays: number };
}

/** Parses the client's variables once, reporting every problem in one TESTBED_CONFIG_INVALID error. */
export function loadClientConfig(env: Record<string, string | undefined>): ClientConfig {
  const parsed = clientEnvSchema.safeParse(env);
  if (!parsed.success) throw invalid(parsed.error);
  const e = parsed.data;
  return deepFreeze({
    apiUrl: (e.TESTBED_API_URL ?? `http://127.0.0.1:${e.TESTBED_HTTP_PORT}`).replace(/\/+$/, ''),
    apiKey: e.TESTBED_API_KEY,
    mqttUrl: `mqtt://127.0.0.1:${e.TESTBED_MQTT_PORT === 'off' ? 1883 : e.TESTBED_MQTT_PORT}`,
    window: { maxFutureSeconds: e.TESTBED_MAX_FUTURE_SECONDS, maxAgeDays: e.TESTBED_MAX_AGE_DAYS },
  });
}
