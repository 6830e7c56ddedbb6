import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RouteOptions } from '../../deps.js';
import { visiblePilot } from '../../lookups.js';
import { callerOf } from '../../plugins/auth.js';
import { errorResponses, json } from '../../schemas/responses.js';
import { newPilotSchema, pilotParamsSchema, pilotResponseSchema } from '../../schemas/pilots.js';

const epochMs = (iso: string | undefined): number | undefined => (iso === undefined ? undefined : Date.parse(iso));

/** Pilots: a company's trial in a testbed. Created by the admin, read by the company. */
export const pilotRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.post(
    '/pilots',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['pilots'],
        summary: 'Start a pilot of a company in a testbed (admin key only)',
        description: 'startsAt and endsAt are ISO 8601 with a zone; the gateway accepts readings only between them.',
        body: newPilotSchema,
        response: { 201: json('The new pilot', pilotResponseSchema), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { startsAt, endsAt, ...rest } = request.body;
      const pilot = deps.registry.createPilot({ ...rest, startsAt: epochMs(startsAt), endsAt: epochMs(endsAt) });
      return reply.code(201).send(pilot);
    },
  );

  app.get(
    '/pilots/:pilotId',
    {
      config: { access: 'key' },
      schema: {
        tags: ['pilots'],
        summary: 'Read a pilot of the key\'s company',
        params: pilotParamsSchema,
        response: { 200: json('The pilot', pilotResponseSchema), ...errorResponses },
      },
    },
    async (request) => visiblePilot(deps.registry, callerOf(request).scope, request.params.pilotId),
  );
};
