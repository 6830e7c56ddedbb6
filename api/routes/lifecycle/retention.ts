import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { TestbedError, testbedSchema } from '../../../core/index.js';
import { changes } from '../../access.js';
import type { RouteOptions } from '../../deps.js';
import { callerOf, noteTarget } from '../../plugins/auth.js';
import { testbedParamsSchema } from '../../schemas/fleet.js';
import { retentionDaysSchema } from '../../schemas/pilots.js';
import { errorResponses, json } from '../../schemas/responses.js';

const NO_TESTBED = "No testbed with this id is operated by this API key; check the id, and that the key's testbeds include it";

/** `PUT /v1/testbeds/{testbedId}/retention`: a testbed's default retention, for its pilots that set none. */
export const retentionRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.put(
    '/testbeds/:testbedId/retention',
    {
      config: changes('admin', 'operator'),
      schema: {
        tags: ['lifecycle'],
        summary: "Set a testbed's default retention: readings of its pilots older than this are deleted daily (a pilot's own retentionDays wins)",
        params: testbedParamsSchema,
        body: z.strictObject({ retentionDays: retentionDaysSchema.nullable().meta({ description: 'null: no default; readings are kept until erased' }) }),
        response: { 200: json('The testbed', testbedSchema), ...errorResponses },
      },
    },
    async (request) => {
      const { testbedId } = request.params;
      const testbed = await deps.registry.setTestbedRetention(callerOf(request).scope, testbedId, request.body.retentionDays);
      if (!testbed) throw new TestbedError('TESTBED_NOT_FOUND', NO_TESTBED);
      noteTarget(request, { testbedId });
      return testbed;
    },
  );
};
