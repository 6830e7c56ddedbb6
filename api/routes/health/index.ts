import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RouteOptions } from '../../deps.js';
import { healthResponseSchema, type HealthResponse } from '../../schemas/health.js';
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
        response: { 200: json('Up; `status` says how well', healthResponseSchema), ...errorResponses },
      },
    },
    async (): Promise<HealthResponse> => {
      const health = deps.ingest?.health();
      if (!health) return { status: 'ok' };
      const gateway = deps.sessions && { connectedDevices: deps.sessions.connectedDevices() };
      return { status: health.status, gateway, ingest: health.ingest, queue: health.queue, store: health.store };
    },
  );
};
