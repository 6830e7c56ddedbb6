import { z } from 'zod';

/**
 * Device health and alerts as the API shows them. These zod schemas are the
 * single definition: the registry returns these types and the API answers with
 * the same schemas (and documents them in OpenAPI).
 */
const isoTime = z.iso.datetime({ offset: true });

/**
 * How a device keeps its profile's reporting contract: `never` (no reading
 * yet), `ok`, `late` (no reading for longer than the late threshold, 2x the
 * interval unless the profile says otherwise), `silent` (longer than the silent
 * threshold, 6x by default).
 */
export const healthStatusSchema = z.enum(['never', 'ok', 'late', 'silent']);
export type DeviceStatus = z.infer<typeof healthStatusSchema>;
export const DEVICE_STATUSES: readonly DeviceStatus[] = healthStatusSchema.options;

/** Why a device's connection ended. */
export const disconnectReasonSchema = z.enum([
  'client closed',
  'keepalive timeout',
  'policy violation',
  'taken over',
  'revoked',
  'pilot ended',
  'connection lost',
  'gateway stopped',
]);
export type DisconnectReason = z.infer<typeof disconnectReasonSchema>;

export const deviceHealthSchema = z.object({
  status: healthStatusSchema,
  online: z.boolean().meta({ description: 'Whether one of its MQTT connections is open now (the gateway tracks its sockets)' }),
  lastSeen: isoTime.nullable().meta({ description: 'Its last CONNECT, message or disconnect' }),
  lastReadingAt: isoTime.nullable().meta({ description: 'When its newest stored reading arrived' }),
  lastConnectedAt: isoTime.nullable(),
  lastDisconnectedAt: isoTime.nullable(),
  disconnectReason: disconnectReasonSchema.nullable(),
  expectedIntervalSeconds: z
    .number()
    .nullable()
    .meta({ description: "The reportingIntervalSeconds the device reported in its configuration, else its profile's; null when neither is known" }),
  battery: z
    .object({ value: z.number(), low: z.boolean() })
    .optional()
    .meta({ description: "The newest value of the profile's battery measurement and whether it is below the profile's low threshold" }),
  signal: z.object({ rssi: z.number() }).optional().meta({ description: "The newest value of the profile's signal measurement (dBm)" }),
  rejectionsLastHour: z.record(z.string(), z.number().int()).meta({ description: 'Messages rejected in the last hour, by error code' }),
});
export type DeviceHealth = z.infer<typeof deviceHealthSchema>;

/** What happened to a device: connected, disconnected (with why), its status changed, or its will was published. */
export const deviceEventSchema = z.object({
  time: isoTime,
  type: z.enum(['connected', 'disconnected', 'status', 'will']),
  reason: disconnectReasonSchema.optional(),
  from: healthStatusSchema.optional(),
  to: healthStatusSchema.optional(),
  payload: z.string().optional().meta({ description: "A will's payload (UTF-8, capped)" }),
});
export type DeviceEvent = z.infer<typeof deviceEventSchema>;

/** What an alert rule watches. Device conditions apply to each device of its pilot or testbed; gateway conditions to the gateway. */
export const alertConditionSchema = z.enum(['late', 'silent', 'battery_low', 'rejections', 'offline', 'queue_age', 'store_unreachable']);
export type AlertCondition = z.infer<typeof alertConditionSchema>;
/** Conditions about the gateway itself, for operators' (testbed) rules only. */
export const GATEWAY_CONDITIONS: ReadonlySet<AlertCondition> = new Set(['queue_age', 'store_unreachable']);

export const alertRuleSchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  condition: alertConditionSchema,
  /** rejections: per hour; offline: minutes; queue_age and store_unreachable: seconds. */
  threshold: z.number().nullable(),
  /** The condition must have been clear this long before an open alert resolves (against flapping). */
  holdSeconds: z.number(),
  /** A company's rule covers one of its pilots; an operator's covers a testbed (or one pilot in it). */
  testbedId: z.string(),
  pilotId: z.string().nullable(),
  companyId: z.string().nullable(),
  createdAt: isoTime,
});
export type AlertRule = z.infer<typeof alertRuleSchema>;

export const alertSchema = z.object({
  id: z.string(),
  ruleId: z.string(),
  condition: alertConditionSchema,
  state: z.enum(['open', 'resolved']),
  openedAt: isoTime,
  resolvedAt: isoTime.nullable(),
  deviceId: z.string().optional(),
  testbedId: z.string(),
  pilotId: z.string().nullable(),
  message: z.string(),
});
export type Alert = z.infer<typeof alertSchema>;
