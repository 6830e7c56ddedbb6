import type { FastifyRequest } from 'fastify';
import { TestbedError } from '../../core/errors.js';
import type { Caller } from '../../core/model.js';
import { authenticate, authorize, type Access, type KeyAuthenticator } from '../access.js';
import type { ApiInstance } from '../deps.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route. Every route behind the API key hook must say. */
    access?: Access;
  }
}

const CALLER = 'caller';

/**
 * Puts every route registered on `scope` behind the API key. One onRequest hook
 * resolves the caller (401) and checks the route's declared access (403) before
 * the body is even read; handlers then take the caller with `callerOf` and pass
 * its scope into every read.
 */
export function requireApiKey(scope: ApiInstance, keys: KeyAuthenticator): void {
  scope.decorateRequest(CALLER, null);
  scope.addHook('onRoute', (route) => {
    if (route.config?.access === undefined) {
      throw new Error(`${route.method} ${route.url}: a route behind the API key must declare config.access`);
    }
  });
  scope.addHook('onRequest', async (request) => {
    const caller = authenticate(request.headers.authorization, keys);
    authorize(caller, request.routeOptions.config.access ?? 'admin');
    request.setDecorator(CALLER, caller);
  });
}

/** The caller the API key hook resolved for this request. */
export function callerOf(request: FastifyRequest): Caller {
  const caller = request.getDecorator<Caller | null>(CALLER);
  // Only reachable if a route outside `requireApiKey` asks for a caller: a bug, not a client error.
  if (!caller) throw new TestbedError('TESTBED_INTERNAL', 'callerOf() used on a route without the API key hook');
  return caller;
}
