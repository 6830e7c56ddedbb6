import { z } from 'zod';
import { webhookDeliverySchema, webhookEventSchema, webhookSchema } from '../../core/index.js';
import { component } from './components.js';

export const webhookResponseSchema = component('Webhook', webhookSchema, 'A webhook, without its secret');

export const newWebhookSchema = z
  .strictObject({
    url: z
      .url({ protocol: /^https?$/ })
      .max(2000)
      .meta({ example: 'https://receiver.example.org/testbed' }),
    events: z
      .array(webhookEventSchema)
      .min(1)
      .max(20)
      .meta({ description: 'The event types to deliver', example: ['alert.opened', 'alert.resolved'] }),
    pilotId: z
      .string()
      .min(1)
      .optional()
      .meta({ description: "The pilot whose events to deliver; a company's whole company when neither this nor testbedId is given" }),
    testbedId: z.string().min(1).optional().meta({ description: 'For admin and operator keys: every event of this testbed' }),
  })
  .refine((b) => b.pilotId === undefined || b.testbedId === undefined, { message: 'give pilotId or testbedId, not both', path: ['testbedId'] });

export const createdWebhookSchema = component(
  'CreatedWebhook',
  webhookSchema.extend({
    secret: z.string().meta({
      description:
        'The signing secret (`whsec_` and base64), shown only now. Verify `webhook-signature: v1,<sig>` as base64 HMAC-SHA256, keyed with the base64-decoded part, over `<webhook-id>.<webhook-timestamp>.<body>`',
    }),
  }),
  'A new webhook with its signing secret',
);

export const webhooksResponseSchema = z.object({ webhooks: z.array(webhookResponseSchema) });
export const webhookParamsSchema = z.strictObject({ webhookId: z.string().min(1) });
export const deliveriesQuerySchema = z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).optional() });
export const deliveriesResponseSchema = z.object({
  deliveries: z.array(component('WebhookDelivery', webhookDeliverySchema, 'A message to a webhook with each attempt to deliver it')),
});
