import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { TestbedError, type KeyGrant } from '../../../core/index.js';
import { grantProblems, refuseGrant } from '../../../registry/index.js';
import { changes, reads } from '../../access.js';
import type { RouteOptions } from '../../deps.js';
import { callerOf } from '../../plugins/auth.js';
import { createdKeySchema } from '../../schemas/companies.js';
import { apiKeyResponseSchema, keyParamsSchema, keysResponseSchema, newApiKeySchema, type NewApiKey } from '../../schemas/keys.js';
import { errorResponses, json } from '../../schemas/responses.js';

const NO_KEY = 'No API key with this id is visible to this key';

/** The grant a request asks for, with the defaults filled in. */
function grantOf(body: NewApiKey): KeyGrant {
  return {
    role: body.role,
    companyId: body.companyId ?? null,
    testbedIds: body.testbedIds ?? null,
    readOnly: body.readOnly ?? body.role === 'researcher',
    scopes: body.scopes ?? [],
    expiresAt: body.expiresAt === undefined ? null : Date.parse(body.expiresAt),
  };
}

/**
 * API keys: created (shown once), listed and revoked. A key may create and see
 * only keys no wider than itself (registry/key-policy.ts).
 */
export const keyRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const { registry } = deps;

  app.post(
    '/keys',
    {
      config: changes('admin', 'operator', 'company'),
      schema: {
        tags: ['keys'],
        summary: 'Create an API key; the key is shown only in this answer',
        description:
          'admin keys create any key; operator keys operator and researcher keys within their own testbeds; company keys company keys of ' +
          'their own company. The `metrics` scope (GET /metrics) only admin and operator keys grant, and never to a company key. A key that expires creates only keys that expire no later. Asking for more than that is 403. ' +
          'A company has at most TESTBED_MAX_LIVE_KEYS live keys, and a key at most that many minted under it (409 TESTBED_KEY_LIMIT beyond).',
        body: newApiKeySchema,
        response: { 201: json('The new key; `key` is shown only now', createdKeySchema), ...errorResponses },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const wanted = grantOf(request.body);
      const problems = grantProblems(wanted);
      if (problems.length > 0)
        throw new TestbedError(
          'TESTBED_BAD_REQUEST',
          `Invalid key: ${problems.join('; ')}`,
          problems.map((message) => ({ in: 'body' as const, message })),
        );
      if (wanted.expiresAt !== null && wanted.expiresAt <= registry.now()) {
        throw new TestbedError('TESTBED_BAD_REQUEST', 'expiresAt must be in the future', [
          { in: 'body', field: 'expiresAt', message: 'must be in the future' },
        ]);
      }
      const refused = refuseGrant(caller.grant, wanted);
      if (refused) throw new TestbedError('TESTBED_FORBIDDEN', refused);
      const unknown: string[] = [];
      for (const t of wanted.testbedIds ?? []) if (!(await registry.getTestbed(t))) unknown.push(t);
      if (unknown.length > 0) {
        throw new TestbedError('TESTBED_BAD_REQUEST', `Unknown testbeds: ${unknown.join(', ')}; GET /v1/testbeds lists them`, [
          { in: 'body', field: 'testbedIds', message: `unknown: ${unknown.join(', ')}` },
        ]);
      }
      // The registry checks the grant again, and that the company is one the caller sees (404 otherwise).
      const { key, apiKey } = await registry.createKey(caller, wanted, request.body.name ?? null);
      return reply.code(201).send({ key, ...apiKey });
    },
  );

  app.get(
    '/keys',
    {
      config: reads('admin', 'operator', 'company'),
      schema: {
        tags: ['keys'],
        summary: 'List the keys this key may manage (never their secrets), revoked and expired ones included',
        response: { 200: json('The keys', keysResponseSchema), ...errorResponses },
      },
    },
    async (request) => ({ keys: await registry.listKeys(callerOf(request).grant) }),
  );

  app.delete(
    '/keys/:keyId',
    {
      config: changes('admin', 'operator', 'company'),
      schema: {
        tags: ['keys'],
        summary: 'Revoke a key, and every key minted under it: from now on they answer 401',
        params: keyParamsSchema,
        response: { 200: json('The revoked key', apiKeyResponseSchema), ...errorResponses },
      },
    },
    async (request) => {
      const revoked = await registry.revokeKey(callerOf(request).grant, request.params.keyId);
      if (!revoked) throw new TestbedError('TESTBED_NOT_FOUND', NO_KEY);
      return revoked;
    },
  );
};
