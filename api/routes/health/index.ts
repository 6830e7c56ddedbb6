import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RouteOptions } from '../../deps.js';
import { healthResponseSchema } from '../../schemas/catalogue.js';
import { errorResponses, json } from '../../schemas/responses.js';

/** `GET /v1/health`: no key needed, so load balancers and monitors can poll it. */
export const healthRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.get(
    '/health',
    {
      // Polled often; only its problems are worth a log line.
      logLevel: 'warn',
      schema: {
        tags: ['health'],
        summary: 'Whether the pipeline is up, with its counters',
        security: [],
        response: { 200: json('Up', healthResponseSchema), ...errorResponses },
      },
    },
    async () => ({ status: 'ok', ...deps.health?.() }),
  );
};
