import { z } from 'zod';

const positiveInt = z.coerce.number().int().positive();

/**
 * The connection, rate and timeout limits that keep one client from
 * exhausting the process. Each is in the README's Limits table with what a
 * client sees beyond it.
 */
export const limitsSchema = {
  TESTBED_MQTT_MAX_CONNECTIONS: positiveInt.default(10_000),
  TESTBED_MQTT_MAX_CONNECTIONS_PER_IP: positiveInt.default(500),
  TESTBED_MQTT_MAX_CONNECTIONS_PER_DEVICE: positiveInt.max(100).default(4),
  TESTBED_MQTT_CONNECTS_PER_SECOND_PER_IP: positiveInt.default(20),
  TESTBED_MQTT_CONNECT_TIMEOUT_SECONDS: positiveInt.max(300).default(10),
  TESTBED_MQTT_MAX_KEEPALIVE_SECONDS: positiveInt.max(65535).default(300),
  TESTBED_DEVICE_MESSAGES_PER_SECOND: positiveInt.default(100),
  TESTBED_HTTP_MAX_CONNECTIONS: positiveInt.default(5000),
  TESTBED_HTTP_MAX_CONNECTIONS_PER_IP: positiveInt.default(100),
  TESTBED_HTTP_HEADERS_TIMEOUT_SECONDS: positiveInt.max(600).default(10),
  TESTBED_HTTP_REQUEST_TIMEOUT_SECONDS: positiveInt.max(3600).default(30),
  TESTBED_HTTP_KEEPALIVE_TIMEOUT_SECONDS: positiveInt.max(600).default(5),
  TESTBED_MAX_LIVE_KEYS: positiveInt.default(100),
  TESTBED_COMPANY_REQUESTS_PER_SECOND: positiveInt.default(100),
  TESTBED_DISK_MIN_FREE_MB: z.coerce.number().int().min(0).default(512),
  TESTBED_REJECTIONS_PER_DEVICE_PER_MINUTE: positiveInt.default(60),
  TESTBED_REJECTIONS_RETENTION_DAYS: positiveInt.max(36500).default(30),
};

type LimitsEnv = { [K in keyof typeof limitsSchema]: z.infer<(typeof limitsSchema)[K]> };

export interface Limits {
  readonly mqtt: {
    /** Open MQTT connections in all (TCP, TLS and WebSocket together). */
    readonly maxConnections: number;
    readonly maxConnectionsPerIp: number;
    readonly maxConnectionsPerDevice: number;
    /** CONNECT packets a second from one address; bursts of ten seconds' worth. */
    readonly connectsPerSecondPerIp: number;
    /** A socket that has sent no CONNECT by then is closed. */
    readonly connectTimeoutMs: number;
    /** A keepalive of 0 or longer than this is replaced by this. */
    readonly maxKeepaliveSeconds: number;
    /** PUBLISH packets a second per device; bursts of ten seconds' worth; beyond, the gateway reads more slowly. */
    readonly deviceMessagesPerSecond: number;
  };
  readonly http: {
    readonly maxConnections: number;
    readonly maxConnectionsPerIp: number;
    readonly headersTimeoutMs: number;
    readonly requestTimeoutMs: number;
    readonly keepAliveTimeoutMs: number;
  };
  readonly keys: {
    /** Live keys one company may have, and one key may have minted under it. */
    readonly maxLive: number;
    /** Requests a second of all keys of one company together; bursts of four seconds' worth. */
    readonly companyRequestsPerSecond: number;
  };
  readonly disk: {
    /** Below this much free space in the data folder, nothing more is acknowledged (0: only a full disk stops it). */
    readonly minFreeBytes: number;
  };
  readonly rejections: {
    /** Rejection records kept per device a minute; beyond, rejections are counted, not stored. */
    readonly perDevicePerMinute: number;
    /** Rejection records older than this are deleted. */
    readonly retentionMs: number;
  };
}

export function limitsOf(e: LimitsEnv): Limits {
  return {
    mqtt: {
      maxConnections: e.TESTBED_MQTT_MAX_CONNECTIONS,
      maxConnectionsPerIp: e.TESTBED_MQTT_MAX_CONNECTIONS_PER_IP,
      maxConnectionsPerDevice: e.TESTBED_MQTT_MAX_CONNECTIONS_PER_DEVICE,
      connectsPerSecondPerIp: e.TESTBED_MQTT_CONNECTS_PER_SECOND_PER_IP,
      connectTimeoutMs: e.TESTBED_MQTT_CONNECT_TIMEOUT_SECONDS * 1000,
      maxKeepaliveSeconds: e.TESTBED_MQTT_MAX_KEEPALIVE_SECONDS,
      deviceMessagesPerSecond: e.TESTBED_DEVICE_MESSAGES_PER_SECOND,
    },
    http: {
      maxConnections: e.TESTBED_HTTP_MAX_CONNECTIONS,
      maxConnectionsPerIp: e.TESTBED_HTTP_MAX_CONNECTIONS_PER_IP,
      headersTimeoutMs: e.TESTBED_HTTP_HEADERS_TIMEOUT_SECONDS * 1000,
      requestTimeoutMs: e.TESTBED_HTTP_REQUEST_TIMEOUT_SECONDS * 1000,
      keepAliveTimeoutMs: e.TESTBED_HTTP_KEEPALIVE_TIMEOUT_SECONDS * 1000,
    },
    keys: { maxLive: e.TESTBED_MAX_LIVE_KEYS, companyRequestsPerSecond: e.TESTBED_COMPANY_REQUESTS_PER_SECOND },
    disk: { minFreeBytes: e.TESTBED_DISK_MIN_FREE_MB * 1024 * 1024 },
    rejections: { perDevicePerMinute: e.TESTBED_REJECTIONS_PER_DEVICE_PER_MINUTE, retentionMs: e.TESTBED_REJECTIONS_RETENTION_DAYS * 86_400_000 },
  };
}
