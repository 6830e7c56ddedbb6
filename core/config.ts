import path from 'node:path';
import { z } from 'zod';
import { TestbedError } from './errors.js';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const optionalString = z
  .string()
  .trim()
  .transform((s) => (s === '' ? undefined : s))
  .optional();

/**
 * Every environment variable the pipeline reads, with its default. This schema
 * is the only place that knows the variable names; the README's configuration
 * table documents the same list.
 */
export const envSchema = z
  .object({
    TESTBED_HOST: z.string().min(1).default('127.0.0.1'),
    TESTBED_MQTT_PORT: port.default(1883),
    TESTBED_PUBLIC_MQTT_URL: optionalString.pipe(
      z.url({ protocol: /^(mqtts?|wss?)$/, error: 'must be a URL such as mqtt://host:1883 (mqtt, mqtts, ws or wss)' }).optional(),
    ),
    TESTBED_HTTP_PORT: port.default(8080),
    TESTBED_DATA_DIR: z.string().min(1).default('./data'),
    TESTBED_ADMIN_TOKEN: optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
    TESTBED_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    TESTBED_PROFILES_DIR: optionalString,

    TESTBED_INFLUX_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
    TESTBED_INFLUX_TOKEN: optionalString,
    TESTBED_INFLUX_BUCKET: z.string().min(1).default('testbed'),
    TESTBED_INFLUX_ORG: optionalString,

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
  })
  .refine((e) => e.TESTBED_MAX_PACKET_BYTES > e.TESTBED_MAX_PAYLOAD_BYTES, {
    path: ['TESTBED_MAX_PACKET_BYTES'],
    message: 'must be larger than TESTBED_MAX_PAYLOAD_BYTES (a payload between the two becomes a rejection; a packet over this closes its connection)',
  });

export interface InfluxConfig {
  readonly url: string;
  readonly token: string | undefined;
  readonly bucket: string;
  readonly org: string | undefined;
}

export interface Config {
  readonly host: string;
  readonly mqtt: {
    readonly port: number;
    /** A longer MQTT packet closes its connection as soon as its header arrives. */
    readonly maxPacketBytes: number;
    /**
     * The broker address told to devices when they are registered, for a gateway
     * behind a load balancer or a public name; undefined: this gateway's own
     * `mqtt://<host>:<port>`.
     */
    readonly publicUrl: string | undefined;
  };
  readonly http: { readonly port: number };
  readonly dataDir: string;
  readonly adminToken: string | undefined;
  readonly logLevel: z.infer<typeof envSchema>['TESTBED_LOG_LEVEL'];
  /** Folder of device profiles; undefined means the profiles that ship with the package. */
  readonly profilesDir: string | undefined;
  /** InfluxDB is the reading store when set; otherwise the embedded store is. */
  readonly influx: InfluxConfig | undefined;
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
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new TestbedError('TESTBED_CONFIG_INVALID', `Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return deepFreeze({
    host: e.TESTBED_HOST,
    mqtt: { port: e.TESTBED_MQTT_PORT, maxPacketBytes: e.TESTBED_MAX_PACKET_BYTES, publicUrl: e.TESTBED_PUBLIC_MQTT_URL },
    http: { port: e.TESTBED_HTTP_PORT },
    dataDir: path.resolve(e.TESTBED_DATA_DIR),
    adminToken: e.TESTBED_ADMIN_TOKEN,
    logLevel: e.TESTBED_LOG_LEVEL,
    profilesDir: e.TESTBED_PROFILES_DIR === undefined ? undefined : path.resolve(e.TESTBED_PROFILES_DIR),
    influx:
      e.TESTBED_INFLUX_URL === undefined
        ? undefined
        : { url: e.TESTBED_INFLUX_URL, token: e.TESTBED_INFLUX_TOKEN, bucket: e.TESTBED_INFLUX_BUCKET, org: e.TESTBED_INFLUX_ORG },
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
  });
}
