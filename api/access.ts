import { TestbedError } from '../core/errors.js';
import type { Caller } from '../core/model.js';

/**
 * Who may call a route. `key`: any valid API key, and every read is then limited
 * to the key's scope. `admin`: admin keys only.
 */
export type Access = 'key' | 'admin';

/** Whatever resolves a presented key to a caller (the registry). */
export interface KeyAuthenticator {
  authenticateKey(presented: string): Caller | undefined;
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
export function authenticate(header: string | undefined, keys: KeyAuthenticator): Caller {
  if (header === undefined || header.trim() === '') {
    throw new TestbedError('TESTBED_UNAUTHORIZED', 'Send an API key: Authorization: Bearer <key>');
  }
  const token = bearerToken(header);
  if (token === undefined) {
    throw new TestbedError('TESTBED_UNAUTHORIZED', 'The Authorization header must be "Bearer <key>"');
  }
  const caller = keys.authenticateKey(token);
  if (!caller) throw new TestbedError('TESTBED_UNAUTHORIZED', 'The API key is not valid: it is unknown, revoked or mistyped');
  return caller;
}

/** Throws 403 when the caller may not use a route with this access. */
export function authorize(caller: Caller, access: Access): void {
  if (access === 'admin' && caller.role !== 'admin') {
    throw new TestbedError('TESTBED_FORBIDDEN', 'Only an admin key may do this; company keys may read and register devices in their own pilots');
  }
}
