import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { CallerRole, KeyScope } from '../../../core/index.js';
import { ANY_KEY, admits, type RoutePolicy } from '../../access.js';
import type { ApiInstance, RouteOptions } from '../../deps.js';
import { callerOf } from '../../plugins/auth.js';
import { meResponseSchema } from '../../schemas/me.js';
import { errorResponses, json } from '../../schemas/responses.js';

/** An operation as the OpenAPI document names it, with the policy its route declared. */
export interface Operation {
  readonly name: string;
  readonly policy: RoutePolicy;
}

/**
 * Records every route registered on `app` from now on, with its declared
 * policy, so that `GET /v1/me` can answer from the same declarations that the
 * API key hook enforces rather than from a second list that could drift.
 */
export function collectOperations(app: ApiInstance): Operation[] {
  const operations: Operation[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    // route.url carries the prefixes of the plugins around it: the full path.
    const path = route.url.replace(/:(\w+)/g, '{$1}');
    const scopes = route.config?.scopes as readonly KeyScope[] | undefined;
    const policy = { roles: (route.config?.roles ?? []) as readonly CallerRole[], changes: route.config?.changes ?? true, ...(scopes ? { scopes } : {}) };
    // HEAD is Fastify's automatic twin of each GET; the document leaves it out, and so does this list.
    for (const method of methods) if (method !== 'HEAD') operations.push({ name: `${method} ${path}`, policy });
  });
  return operations;
}

/** `GET /v1/me`: what the presented key is, so a client (the console) offers only what the key may do. */
export function meRoutes(operations: readonly Operation[]): FastifyPluginAsyncZod<RouteOptions> {
  return async (app) => {
    app.get(
      '/me',
      {
        config: ANY_KEY,
        schema: {
          tags: ['keys'],
          summary: 'The calling key: role, company or testbed scope, and the operations it may call',
          description: 'Computed from the same route policies the API enforces; which objects it sees is decided per request, as everywhere.',
          response: { 200: json('The calling key', meResponseSchema), ...errorResponses },
        },
      },
      async (request) => {
        const caller = callerOf(request);
        const { grant } = caller;
        const allowed = operations.filter(({ policy }) => admits(caller, policy) && !(policy.changes && caller.readOnly));
        return {
          keyId: caller.keyId,
          role: grant.role,
          companyId: grant.companyId,
          testbedIds: grant.testbedIds === null ? null : [...grant.testbedIds],
          readOnly: caller.readOnly,
          scopes: [...(grant.scopes ?? [])],
          expiresAt: grant.expiresAt === null ? null : new Date(grant.expiresAt).toISOString(),
          operations: [...new Set(allowed.map((o) => o.name))].sort(),
        };
      },
    );
  };
}
