import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RouteOptions } from '../../deps.js';
import { companyParamsSchema, companyResponseSchema, createdKeySchema, newCompanySchema, newKeySchema } from '../../schemas/companies.js';
import { errorResponses, json } from '../../schemas/responses.js';

/** Companies and their API keys; admin only. */
export const companyRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.post(
    '/companies',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['companies'],
        summary: 'Register a company (admin key only)',
        body: newCompanySchema,
        response: { 201: json('The new company', companyResponseSchema), ...errorResponses },
      },
    },
    async (request, reply) => reply.code(201).send(deps.registry.createCompany(request.body.name)),
  );

  app.post(
    '/companies/:companyId/keys',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['companies'],
        summary: 'Create an API key for a company (admin key only); the key is shown once',
        params: companyParamsSchema,
        body: newKeySchema,
        response: { 201: json('The new key; `key` is shown only now', createdKeySchema), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { key, apiKey } = deps.registry.createCompanyKey(request.params.companyId, request.body?.name);
      return reply.code(201).send({ key, ...apiKey });
    },
  );
};
