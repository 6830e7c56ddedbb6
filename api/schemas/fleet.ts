import { z } from 'zod';
import { alertConditionSchema, alertRuleSchema, alertSchema, deviceEventSchema, deviceHealthSchema, healthStatusSchema } from '../../core/index.js';
import { component } from './components.js';
import { deviceViewSchema } from './devices.js';
import { cursorParam, limitParam } from './queries.js';
import { openDataTerms } from './terms.js';
import { instant } from './time-range.js';

export const deviceHealthComponent = component('DeviceHealth', deviceHealthSchema, "A device's health, judged against its profile's reporting contract");

/** A device with its connection status and health. */
export const deviceDetailSchema = component(
  'DeviceDetail',
  deviceViewSchema.extend({ health: deviceHealthComponent, ...openDataTerms }),
  'A device, its connection status and its health',
);

const bool = z.enum(['true', 'false']).transform((v) => v === 'true');

export const fleetQuerySchema = z.strictObject({
  testbedId: z.string().min(1).optional(),
  pilotId: z.string().min(1).optional(),
  profile: z.string().min(1).optional(),
  status: z
    .string()
    .transform((s, ctx) => {
      const list = s.split(',').map((v) => v.trim());
      for (const v of list)
        if (!healthStatusSchema.safeParse(v).success) ctx.addIssue({ code: 'custom', message: `unknown status ${v} (never, ok, late, silent)` });
      return list as z.infer<typeof healthStatusSchema>[];
    })
    .optional()
    .meta({ description: 'A comma list of statuses: never, ok, late, silent' }),
  batteryLow: bool.optional(),
  online: bool.optional(),
  sort: z
    .enum(['-lastReadingAt', 'lastReadingAt'])
    .default('-lastReadingAt')
    .meta({ description: 'Newest reading first (default) or oldest first; devices without readings last' }),
  limit: limitParam,
  cursor: cursorParam,
});

export const fleetResponseSchema = z.object({
  devices: z.array(deviceDetailSchema),
  next: z.string().optional().meta({ description: 'Present while more devices remain: repeat the request with cursor=<next>' }),
});

const counts = z.record(z.string(), z.number().int());
export const testbedHealthSchema = component(
  'TestbedHealth',
  z.object({
    testbedId: z.string(),
    devices: z.object({
      total: z.number().int(),
      online: z.number().int(),
      batteryLow: z.number().int(),
      byStatus: counts,
      byProfile: counts,
      byPilot: counts,
    }),
    gateway: z
      .object({
        connections: z.number().int().meta({ description: 'MQTT connections open on the gateway now (all testbeds)' }),
        queue: z.object({ depthBytes: z.number().int(), oldestAgeSeconds: z.number().nullable() }),
        store: z.object({ reachable: z.boolean(), unreachableSince: z.iso.datetime().nullable() }),
      })
      .nullable()
      .meta({ description: "The gateway's own state; null when the API runs without the pipeline" }),
  }),
  "A testbed's devices counted by status, profile and pilot, and the gateway's state",
);
export const testbedParamsSchema = z.strictObject({ testbedId: z.string().min(1) });

export const deviceEventsQuerySchema = z.strictObject({
  from: instant('Inclusive start: ISO 8601 with a zone, or epoch milliseconds').optional(),
  to: instant('Exclusive end: ISO 8601 with a zone, or epoch milliseconds').optional(),
  limit: limitParam,
});
export const deviceEventsResponseSchema = z.object({
  events: z.array(component('DeviceEvent', deviceEventSchema, 'A connection, disconnection (with why), status change or will of a device')),
});

export const alertRuleComponent = component('AlertRule', alertRuleSchema, 'An alert rule');
export const newAlertRuleSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    condition: alertConditionSchema.meta({
      description:
        'late, silent, battery_low: a device of the pilot or testbed; rejections: more than threshold rejected messages in an hour; ' +
        'offline: disconnected for more than threshold minutes; queue_age, store_unreachable (operators, testbed rules only): over threshold seconds',
    }),
    threshold: z.number().nonnegative().optional(),
    holdSeconds: z.number().nonnegative().max(86_400).default(60).meta({ description: 'How long the condition must stay clear before an open alert resolves' }),
    pilotId: z.string().min(1).optional(),
    testbedId: z.string().min(1).optional(),
  })
  .refine((r) => (r.pilotId === undefined) !== (r.testbedId === undefined), { message: 'give either pilotId or testbedId' })
  .refine((r) => !['rejections', 'offline', 'queue_age', 'store_unreachable'].includes(r.condition) || r.threshold !== undefined, {
    message: 'this condition needs a threshold',
    path: ['threshold'],
  });
export const alertRulesResponseSchema = z.object({ rules: z.array(alertRuleComponent) });
export const alertRuleParamsSchema = z.strictObject({ ruleId: z.string().min(1) });

export const alertsQuerySchema = z.strictObject({ state: z.enum(['open', 'resolved']).optional(), limit: limitParam });
export const alertsResponseSchema = z.object({ alerts: z.array(component('Alert', alertSchema, 'An alert, open or resolved')) });
