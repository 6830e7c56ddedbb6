import { z } from 'zod';

/** The events a webhook may subscribe to: what the event bus carries to the outside. */
export const WEBHOOK_EVENTS = [
  'alert.opened',
  'alert.resolved',
  'device.status',
  'device.connected',
  'device.disconnected',
  'command.queued',
  'command.delivered',
  'command.succeeded',
  'command.failed',
  'command.expired',
] as const;
export const webhookEventSchema = z.enum(WEBHOOK_EVENTS);
export type WebhookEvent = z.infer<typeof webhookEventSchema>;

const isoTime = z.iso.datetime({ offset: true });

/**
 * A webhook: where events are posted, signed. It sits where its target sits:
 * a pilot's webhook in that pilot (and so its company and testbed), an
 * operator's testbed webhook in the testbed only, a company-wide webhook in the
 * company only, and an admin's webhook without a target nowhere (all events).
 */
export const webhookSchema = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(webhookEventSchema),
  companyId: z.string().nullable(),
  testbedId: z.string().nullable(),
  pilotId: z.string().nullable(),
  createdBy: z.string().nullable(),
  createdAt: isoTime,
});
export type Webhook = z.infer<typeof webhookSchema>;

/** One attempt to deliver a message. */
export const webhookAttemptSchema = z.object({
  /** 1 for the first attempt. */
  attempt: z.number().int(),
  at: isoTime,
  /** The receiver's HTTP status; null when no answer came (refused, timed out, address not allowed). */
  statusCode: z.number().int().nullable(),
  error: z.string().nullable(),
  durationMs: z.number(),
  /** When the next attempt is due; null after a success or the last attempt. */
  nextAttemptAt: isoTime.nullable(),
});
export type WebhookAttempt = z.infer<typeof webhookAttemptSchema>;

/** One message to one webhook, with its attempts: the same `webhook-id` on every attempt. */
export const webhookDeliverySchema = z.object({
  /** The `webhook-id` header: the receiver's key for ignoring a repeat. */
  id: z.string(),
  eventType: webhookEventSchema,
  createdAt: isoTime,
  state: z.enum(['pending', 'delivered', 'failed']),
  nextAttemptAt: isoTime.nullable(),
  attempts: z.array(webhookAttemptSchema),
});
export type WebhookDelivery = z.infer<typeof webhookDeliverySchema>;
