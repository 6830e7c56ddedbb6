import type { FastifyRequest } from 'fastify';
import { TestbedError, type AuditDetail, type Caller, type CallerRole, type KeyScope } from '../../core/index.js';
import type { TestbedRegistry } from '../../registry/index.js';
import { authenticate, authorize, bearerToken, type RoutePolicy } from '../access.js';
import type { ApiInstance } from '../deps.js';
import { keyIdOf, type KeyGuards, redactUrl } from '../key-guard.js';
import { sendLicences } from '../open-data.js';
import { clientBucket } from '../rate-limit.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The roles that may call the route. Every route behind the API key hook must say. */
    roles?: readonly CallerRole[];
    /** Key scopes that also admit a caller, whatever its role. */
    scopes?: readonly KeyScope[];
    /** True when the route changes something: refused to read-only keys, audited as a change. */
    changes?: boolean;
  }
}

/** Where the object a request reached sits: what the audit log records, and what operators filter it by. */
export interface Target {
  readonly companyId?: string | undefined;
  readonly testbedId?: string | undefined;
  readonly pilotId?: string | undefined;
  readonly deviceId?: string | undefined;
}

const CALLER = 'caller';
const TARGET = 'auditTarget';
const DETAIL = 'auditDetail';

/** The route's declared policy; the onRoute check guarantees it exists behind the hook. */
function policyOf(request: FastifyRequest): RoutePolicy {
  const { roles, scopes, changes } = request.routeOptions.config;
  return { roles: roles ?? [], changes: changes ?? true, ...(scopes ? { scopes } : {}) };
}

/**
 * Puts every route registered on `app` behind the API key. One onRequest hook
 * resolves the caller (401; 429 TESTBED_KEY_THROTTLED after repeated failures
 * from one address), applies the key's and its company's rate limits (429) and
 * checks the route's declared roles and the key's read-only flag (403), all
 * before the body is read. Handlers then take the caller with `callerOf` and
 * pass its scope into every read. Each answered request is written to the
 * audit log.
 */
export function requireApiKey(app: ApiInstance, registry: TestbedRegistry, guards: KeyGuards): void {
  const { perKey: rateLimit, perCompany: companyLimit, anonymous: anonymousLimit } = guards.limits;
  app.decorateRequest(CALLER, null);
  app.decorateRequest(TARGET, null);
  app.decorateRequest(DETAIL, null);
  sendLicences(app);
  app.addHook('onRoute', (route) => {
    if (route.config?.roles === undefined || route.config.changes === undefined) {
      throw new Error(`${route.method} ${route.url}: a route behind the API key must declare config.roles and config.changes`);
    }
  });
  app.addHook('onRequest', async (request) => {
    // No key at all: an open-data read, if the route admits anonymous callers; a wrong key is never taken as none.
    if (request.headers.authorization === undefined && policyOf(request).roles.includes('anonymous')) {
      const caller = await registry.anonymousCaller();
      request.setDecorator(CALLER, caller);
      const wait = await guards.anonymous.take(clientBucket(request.ip));
      if (wait > 0) {
        throw new TestbedError(
          'TESTBED_RATE_LIMITED',
          `Requests without a key may make ${anonymousLimit.perSecond} requests a second from one address (bursts of ${anonymousLimit.burst}); retry in ${wait} s, or use an API key`,
          { retryAfterSeconds: wait },
        );
      }
      return;
    }
    const caller = await authenticateThrottled(request, registry, guards);
    request.setDecorator(CALLER, caller);
    const wait = await guards.perKey.take(caller.keyId);
    if (wait > 0) {
      throw new TestbedError(
        'TESTBED_RATE_LIMITED',
        `This key may make ${rateLimit.perSecond} requests a second (bursts of ${rateLimit.burst}); retry in ${wait} s`,
        {
          retryAfterSeconds: wait,
        },
      );
    }
    const companyId = caller.grant.companyId;
    const companyWait = companyId === null ? 0 : await guards.perCompany.take(companyId);
    if (companyWait > 0) {
      throw new TestbedError(
        'TESTBED_RATE_LIMITED',
        `This company's keys together may make ${companyLimit.perSecond} requests a second (bursts of ${companyLimit.burst}); retry in ${companyWait} s`,
        { retryAfterSeconds: companyWait },
      );
    }
    authorize(caller, policyOf(request));
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const caller = request.getDecorator<Caller | null>(CALLER);
    if (!caller) return payload;
    const target = request.getDecorator<Target | null>(TARGET) ?? {};
    try {
      await registry.recordAudit(caller, {
        action: policyOf(request).changes ? 'change' : 'read',
        method: request.method,
        route: request.routeOptions.url ?? request.url,
        url: redactUrl(request.url),
        status: reply.statusCode,
        companyId: target.companyId ?? null,
        testbedId: target.testbedId ?? null,
        pilotId: target.pilotId ?? null,
        deviceId: target.deviceId ?? null,
        detail: reply.statusCode < 400 ? request.getDecorator<AuditDetail | null>(DETAIL) : null,
      });
    } catch (err) {
      // The answer still goes out; a full disk shows in the log.
      request.log.error({ err }, 'could not write the audit log');
    }
    return payload;
  });
}

/**
 * The caller of a request's Authorization header, under the failed-key
 * throttle: 429 TESTBED_KEY_THROTTLED while the address must wait, else 401
 * for a key that does not authenticate (counted as a failure).
 */
export async function authenticateThrottled(request: FastifyRequest, registry: TestbedRegistry, guards: KeyGuards): Promise<Caller> {
  const token = bearerToken(request.headers.authorization);
  const keyId = keyIdOf(token);
  // Checked before the key is: a throttled address gets no answer about the key it sent.
  guards.failures.check(request.ip, keyId);
  let caller: Caller;
  try {
    caller = await authenticate(request.headers.authorization, registry);
  } catch (err) {
    // A malformed header or none is no guess at a secret; a wrong, revoked or expired key is (401). A registry
    // that cannot answer (503) is nobody's failure: counting it would throttle every client while it is down.
    if (token !== undefined && err instanceof TestbedError && err.status === 401) guards.failures.failed(request.ip, keyId);
    throw err;
  }
  guards.failures.succeeded(request.ip, keyId);
  return caller;
}

/** The caller the API key hook resolved for this request. */
export function callerOf(request: FastifyRequest): Caller {
  const caller = request.getDecorator<Caller | null>(CALLER);
  // Only reachable if a route outside `requireApiKey` asks for a caller: a bug, not a client error.
  if (!caller) throw new TestbedError('TESTBED_INTERNAL', 'callerOf() used on a route without the API key hook');
  return caller;
}

/** Records what a change changed (field -> { from, to }) for its audit log entry; written only if the change succeeds. */
export function noteChanges(request: FastifyRequest, detail: AuditDetail): void {
  if (Object.keys(detail).length > 0) request.setDecorator(DETAIL, detail);
}

/** Records what the request reached, for the audit log. */
export function noteTarget(request: FastifyRequest, target: Target): void {
  request.setDecorator(TARGET, target);
}
