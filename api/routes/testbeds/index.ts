import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { OPEN_DATA } from '../../access.js';
import type { RouteOptions } from '../../deps.js';
import { testbedsResponseSchema } from '../../schemas/catalogue.js';
import { errorResponses, json } from '../../schemas/responses.js';

/** `GET /v1/testbeds`: the cities pilots can run in; the same for every key. */
export const testbedRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.get(
    '/testbeds',
    {
      config: OPEN_DATA,
      schema: { tags: ['catalogue'], summary: 'List the testbeds', response: { 200: json('The testbeds', testbedsResponseSchema), ...errorResponses } },
    },
    async () => ({ testbeds: await deps.registry.listTestbeds() }),
  );
};
