import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RouteOptions } from '../../deps.js';
import { authenticateThrottled } from '../../plugins/auth.js';
import { healthResponseSchema, type HealthResponse } from '../../schemas/health.js';
import { errorResponses, json } from '../../schemas/responses.js';

/**
 * `GET /v1/health`: no key needed, so load balancers and monitors can poll it;
 * without a key it says only `status`. The details (the store's address in
 * its errors, connection counts, free disk) are for admin and operator keys.
 */
export const healthRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps, keys }) => {
  app.get(
    '/health',
    {
      // Polled often; only its problems are worth a log line.
      logLevel: 'warn',
      schema: {
        tags: ['health'],
        summary: 'Whether the pipeline is up; with an admin or operator key, its counters',
        description:
          'Without a key: `{ status }` only. With an admin or operator key: the gateway, ingest, queue, store and disk details. ' +
          'A key that does not authenticate is 401 (and counts as a failed key), never taken as none.',
        security: [],
        response: { 200: json('Up; `status` says how well', healthResponseSchema), ...errorResponses },
      },
    },
    async (request): Promise<HealthResponse> => {
      const caller = request.headers.authorization === undefined ? undefined : await authenticateThrottled(request, deps.registry, keys);
      const health = deps.ingest?.health();
      if (!health) return { status: 'ok' };
      if (caller?.role !== 'admin' && caller?.role !== 'operator') return { status: health.status };
      const gateway = deps.sessions && { connectedDevices: deps.sessions.connectedDevices() };
      return { status: health.status, gateway, ingest: health.ingest, queue: health.queue, store: health.store, disk: health.disk };
    },
  );
};
