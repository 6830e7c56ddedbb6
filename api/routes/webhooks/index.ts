import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { TestbedError, WebhookUrlPolicy, type Webhook } from '../../../core/index.js';
import { changes, reads } from '../../access.js';
import type { RouteOptions } from '../../deps.js';
import { callerOf, noteTarget } from '../../plugins/auth.js';
import { errorResponses, json } from '../../schemas/responses.js';
import {
  createdWebhookSchema,
  deliveriesQuerySchema,
  deliveriesResponseSchema,
  newWebhookSchema,
  webhookParamsSchema,
  webhookResponseSchema,
  webhooksResponseSchema,
} from '../../schemas/webhooks.js';

const NO_WEBHOOK = 'No webhook with this id is visible to this key';
const OWNERS = ['admin', 'operator', 'company'] as const;
const DEFAULT_DELIVERIES = 100;

const placeOf = (w: Webhook) => ({ companyId: w.companyId ?? undefined, testbedId: w.testbedId ?? undefined, pilotId: w.pilotId ?? undefined });

/**
 * Webhooks: signed deliveries of alerts and device events to a receiver
 * (Standard Webhooks). Scoped like pilots: a company sees its own, an operator
 * those of its testbeds.
 */
export const webhookRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const { registry } = deps;
  const urls = deps.webhookUrls ?? new WebhookUrlPolicy([]);

  app.post(
    '/webhooks',
    {
      config: changes(...OWNERS),
      schema: {
        tags: ['webhooks'],
        summary: 'Create a webhook; its signing secret is shown only in this answer',
        description:
          'Events of a pilot (pilotId), of a testbed (testbedId: admin and operator keys), or of everything the key sees (company and admin keys). ' +
          'Deliveries carry webhook-id, webhook-timestamp and webhook-signature (Standard Webhooks), are retried with backoff for more than a day ' +
          'and keep their webhook-id on every attempt. URLs that are or resolve to loopback, private or link-local addresses are refused ' +
          '(TESTBED_WEBHOOK_URL_NOT_ALLOWED) unless allowed by TESTBED_WEBHOOK_ALLOWED_HOSTS.',
        body: newWebhookSchema,
        response: { 201: json('The new webhook; `secret` is shown only now', createdWebhookSchema), ...errorResponses },
      },
    },
    async (request, reply) => {
      const refused = await urls.refuse(request.body.url);
      if (refused) {
        throw new TestbedError('TESTBED_WEBHOOK_URL_NOT_ALLOWED', `This webhook URL is not allowed: ${refused}`, [
          { in: 'body', field: 'url', message: refused },
        ]);
      }
      const { webhook, secret } = await registry.createWebhook(callerOf(request), request.body);
      noteTarget(request, placeOf(webhook));
      return reply.code(201).send({ ...webhook, secret });
    },
  );

  app.get(
    '/webhooks',
    {
      config: reads(...OWNERS),
      schema: {
        tags: ['webhooks'],
        summary: 'List the webhooks this key sees',
        response: { 200: json('The webhooks', webhooksResponseSchema), ...errorResponses },
      },
    },
    async (request) => ({ webhooks: await registry.listWebhooks(callerOf(request).scope) }),
  );

  app.get(
    '/webhooks/:webhookId',
    {
      config: reads(...OWNERS),
      schema: {
        tags: ['webhooks'],
        summary: 'Read a webhook (never its secret)',
        params: webhookParamsSchema,
        response: { 200: json('The webhook', webhookResponseSchema), ...errorResponses },
      },
    },
    async (request) => {
      const webhook = await registry.getWebhook(callerOf(request).scope, request.params.webhookId);
      if (!webhook) throw new TestbedError('TESTBED_NOT_FOUND', NO_WEBHOOK);
      noteTarget(request, placeOf(webhook));
      return webhook;
    },
  );

  app.delete(
    '/webhooks/:webhookId',
    {
      config: changes(...OWNERS),
      schema: {
        tags: ['webhooks'],
        summary: 'Delete a webhook: nothing more is sent to it, pending deliveries included',
        params: webhookParamsSchema,
        response: { 200: json('The deleted webhook', webhookResponseSchema), ...errorResponses },
      },
    },
    async (request) => {
      const webhook = await registry.deleteWebhook(callerOf(request).scope, request.params.webhookId);
      if (!webhook) throw new TestbedError('TESTBED_NOT_FOUND', NO_WEBHOOK);
      noteTarget(request, placeOf(webhook));
      return webhook;
    },
  );

  app.get(
    '/webhooks/:webhookId/deliveries',
    {
      config: reads(...OWNERS),
      schema: {
        tags: ['webhooks'],
        summary: "A webhook's newest deliveries, each with every attempt: status code, error, duration, attempt number and next attempt",
        params: webhookParamsSchema,
        querystring: deliveriesQuerySchema,
        response: { 200: json('Deliveries, newest first', deliveriesResponseSchema), ...errorResponses },
      },
    },
    async (request) => {
      const { scope } = callerOf(request);
      const deliveries = await registry.listWebhookDeliveries(scope, request.params.webhookId, request.query.limit ?? DEFAULT_DELIVERIES);
      if (!deliveries) throw new TestbedError('TESTBED_NOT_FOUND', NO_WEBHOOK);
      return { deliveries };
    },
  );
};
