import { TestbedError, ROLES, type Caller, type CallerRole, type KeyScope } from '../core/index.js';

/**
 * Who may call a route, declared in its `config` and published in the OpenAPI
 * document as `x-roles`, `x-scopes` and `x-changes`. `changes: true` marks a route that
 * changes something: read-only keys may not call it, and the audit log records
 * it as a change rather than a read.
 */
export interface RoutePolicy {
  /** The roles admitted; `anonymous` admits requests without a key (open data reads only). */
  readonly roles: readonly CallerRole[];
  /** Key scopes that admit a caller whatever its role (`metrics` on `GET /metrics`). */
  readonly scopes?: readonly KeyScope[];
  readonly changes: boolean;
}

/** A route any key may read. */
export const ANY_KEY: RoutePolicy = { roles: ROLES, changes: false };

/** A read of open data: any key, and requests without one (which see only open pilots). */
export const OPEN_DATA: RoutePolicy = { roles: [...ROLES, 'anonymous'], changes: false };

/** A route that reads, for these roles. */
export const reads = (...roles: CallerRole[]): RoutePolicy => ({ roles, changes: false });

/** A route that changes something, for these roles. */
export const changes = (...roles: CallerRole[]): RoutePolicy => ({ roles, changes: true });

/** Whatever resolves a presented key to a caller (the registry). */
export interface KeyAuthenticator {
  authenticateKey(presented: string): Promise<Caller | undefined>;
}

/**
 * The key in an `Authorization: Bearer <key>` header, or undefined when the
 * header is not of that form. The scheme is case-insensitive (RFC 7235 §2.1).
 * The token is taken as one run of non-space characters rather than RFC 6750's
 * narrower b64token, so a configured admin token with other symbols still works.
 */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return /^Bearer +(\S+) *$/i.exec(header)?.[1];
}

/** Resolves the caller of a request from its Authorization header; throws 401 otherwise. */
export async function authenticate(header: string | undefined, keys: KeyAuthenticator): Promise<Caller> {
  if (header === undefined || header.trim() === '') {
    throw new TestbedError('TESTBED_UNAUTHORIZED', 'Send an API key: Authorization: Bearer <key>');
  }
  const token = bearerToken(header);
  if (token === undefined) {
    throw new TestbedError('TESTBED_UNAUTHORIZED', 'The Authorization header must be "Bearer <key>"');
  }
  const caller = await keys.authenticateKey(token);
  if (!caller) throw new TestbedError('TESTBED_UNAUTHORIZED', 'The API key is not valid: it is unknown, revoked, expired or mistyped');
  return caller;
}

const list = (roles: readonly CallerRole[]): string => (roles.length === 1 ? `${roles[0]} keys` : `${roles.slice(0, -1).join(', ')} and ${roles.at(-1)} keys`);

/** Whether the caller's role, or one of its key's scopes, is among those the route admits (the read-only flag aside). */
export function admits(caller: Caller, policy: RoutePolicy): boolean {
  return policy.roles.includes(caller.role) || (policy.scopes ?? []).some((s) => (caller.grant.scopes ?? []).includes(s));
}

/** Throws 403 when the caller's role, scopes or read-only flag do not fit the route's policy. */
export function authorize(caller: Caller, policy: RoutePolicy): void {
  if (!admits(caller, policy)) {
    throw new TestbedError('TESTBED_FORBIDDEN', `Only ${list(policy.roles)} may do this; this is a ${caller.role} key`);
  }
  if (policy.changes && caller.readOnly) {
    throw new TestbedError('TESTBED_FORBIDDEN', 'This key is read-only; it may not change anything');
  }
}
