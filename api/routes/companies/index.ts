import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ANY_KEY, changes } from '../../access.js';
import type { RouteOptions } from '../../deps.js';
import { callerOf } from '../../plugins/auth.js';
import { companyParamsSchema, companyResponseSchema, createdKeySchema, newCompanySchema, newKeySchema } from '../../schemas/companies.js';
import { errorResponses, json } from '../../schemas/responses.js';

/** Companies, and the admin's shortcut for a company key. */
export const companyRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.post(
    '/companies',
    {
      config: changes('admin'),
      schema: {
        tags: ['companies'],
        summary: 'Register a company',
        body: newCompanySchema,
        response: { 201: json('The new company', companyResponseSchema), ...errorResponses },
      },
    },
    async (request, reply) => reply.code(201).send(await deps.registry.createCompany(callerOf(request).scope, request.body.name)),
  );

  app.get(
    '/companies',
    {
      config: ANY_KEY,
      schema: {
        tags: ['companies'],
        summary: 'List the companies the key may see',
        description: 'admin: all; operator: those with a pilot in its testbeds; company: itself; researcher: those with a pilot shared with it.',
        response: { 200: json('The companies', z.object({ companies: z.array(companyResponseSchema) })), ...errorResponses },
      },
    },
    async (request) => ({ companies: await deps.registry.listCompanies(callerOf(request).scope) }),
  );

  app.post(
    '/companies/:companyId/keys',
    {
      config: changes('admin'),
      schema: {
        tags: ['keys'],
        summary: 'Create a key for a company; the key is shown once (the same as POST /v1/keys with role company)',
        params: companyParamsSchema,
        body: newKeySchema,
        response: { 201: json('The new key; `key` is shown only now', createdKeySchema), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { key, apiKey } = await deps.registry.createCompanyKey(callerOf(request), request.params.companyId, request.body?.name);
      return reply.code(201).send({ key, ...apiKey });
    },
  );
};
