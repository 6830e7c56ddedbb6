import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { TestbedError } from '../../../core/index.js';
import { reads } from '../../access.js';
import type { RouteOptions } from '../../deps.js';
import { errorResponses } from '../../schemas/responses.js';

/**
 * `GET /metrics` on the API's port, for admin and operator keys and keys with
 * the `metrics` scope (e.g. a read-only researcher key for Prometheus): the same text
 * as the key-less TESTBED_METRICS_PORT, for a Prometheus server that sends a
 * bearer key (`authorization` in its scrape config).
 */
export const metricsRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.get(
    '/metrics',
    {
      config: { ...reads('admin', 'operator'), scopes: ['metrics'] },
      logLevel: 'warn',
      schema: {
        tags: ['metrics'],
        summary: 'Prometheus metrics of the whole gateway, in the Prometheus text format',
        description:
          'For admin and operator keys, and for any key with the `metrics` scope (x-scopes), e.g. a read-only researcher key made for ' +
          "Prometheus. Company keys never hold that scope: the metrics count every company's devices and traffic.",
        response: {
          200: {
            description: 'The Prometheus text exposition format',
            content: { 'text/plain': { schema: z.string().meta({ example: 'testbed_ingest_readings_total 42' }) } },
          },
          ...errorResponses,
        },
      },
    },
    async (_request, reply) => {
      if (!deps.metrics) throw new TestbedError('TESTBED_STORE_UNAVAILABLE', 'Metrics are not collected by this server');
      const text = await deps.metrics.metrics();
      return reply.type(deps.metrics.contentType).send(text);
    },
  );
};
