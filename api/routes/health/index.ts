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
          'Without a key: `{ status, node }` only. With an admin or operator key: the cluster as this node sees it, and the gateway, ingest, queue, store and disk details. ' +
          'A key that does not authenticate is 401 (and counts as a failed key), never taken as none.',
        security: [],
        response: { 200: json('Up; `status` says how well', healthResponseSchema), ...errorResponses },
      },
    },
    async (request): Promise<HealthResponse> => {
      const caller = request.headers.authorization === undefined ? undefined : await authenticateThrottled(request, deps.registry, keys);
      const health = deps.ingest?.health();
      // Not secret, and what a load balancer's operator needs to tell which node answered.
      const node = deps.cluster?.node;
      if (!health) return { status: 'ok', node };
      if (caller?.role !== 'admin' && caller?.role !== 'operator') return { status: health.status, node };
      const gateway = deps.sessions && { connectedDevices: deps.sessions.connectedDevices() };
      const state = await deps.cluster?.state();
      const cluster = state && { ...state, nodes: [...state.nodes] };
      return { status: health.status, node, cluster, gateway, ingest: health.ingest, queue: health.queue, store: health.store, disk: health.disk };
    },
  );
};
