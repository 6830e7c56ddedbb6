import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { TestbedError, isoTime } from '../../../core/index.js';
import { reads } from '../../access.js';
import type { RouteOptions } from '../../deps.js';
import { callerOf, noteTarget } from '../../plugins/auth.js';
import { testbedHealthSchema, testbedParamsSchema } from '../../schemas/fleet.js';
import { errorResponses, json } from '../../schemas/responses.js';

const NO_TESTBED = "No testbed with this id is operated by this API key; check the id, and that the key's testbeds include it";

/** `GET /v1/testbeds/{testbedId}/health`: for the operators of that testbed and the admin. */
export const testbedHealthRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.get(
    '/testbeds/:testbedId/health',
    {
      config: reads('admin', 'operator'),
      schema: {
        tags: ['devices'],
        summary: "A testbed's devices counted by status, profile and pilot, with the gateway's own state",
        params: testbedParamsSchema,
        response: { 200: json('The testbed health', testbedHealthSchema), ...errorResponses },
      },
    },
    async (request) => {
      const { scope } = callerOf(request);
      const { testbedId } = request.params;
      const operates = scope.kind === 'all' || (scope.kind === 'testbeds' && scope.testbedIds.includes(testbedId));
      if (!operates || !(await deps.registry.getTestbed(testbedId))) throw new TestbedError('TESTBED_NOT_FOUND', NO_TESTBED);
      noteTarget(request, { testbedId });
      const g = deps.health?.gatewayState();
      return {
        testbedId,
        devices: await deps.registry.fleetCounts(scope, testbedId),
        gateway: g
          ? {
              connections: g.connections,
              queue: { depthBytes: g.queue.depthBytes, oldestAgeSeconds: g.queue.oldestAgeMs === null ? null : g.queue.oldestAgeMs / 1000 },
              store: { reachable: g.store.reachable, unreachableSince: g.store.unreachableSince === null ? null : isoTime(g.store.unreachableSince) },
            }
          : null,
      };
    },
  );
};
