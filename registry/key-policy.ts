import { unhandled, type KeyGrant, type KeyScope, type Scope, isoTime } from '../core/index.js';

/*
 * Which keys may exist and who may make or manage them: pure functions over
 * plain grants, tested exhaustively in test/registry-keys.test.ts.
 */

/** What is wrong with a grant's shape for its role; empty when it is well formed. */
export function grantProblems(g: KeyGrant): string[] {
  const problems: string[] = [];
  const testbeds = g.testbedIds;
  switch (g.role) {
    case 'admin':
      if (g.companyId !== null) problems.push('an admin key has no companyId');
      if (testbeds !== null) problems.push('an admin key has no testbedIds');
      break;
    case 'operator':
      if (g.companyId !== null) problems.push('an operator key has no companyId');
      if (testbeds === null || testbeds.length === 0) problems.push('an operator key needs testbedIds: the testbeds it operates');
      break;
    case 'company':
      if (g.companyId === null) problems.push('a company key needs a companyId');
      if (testbeds !== null) problems.push("a company key has no testbedIds: it sees its company's pilots wherever they run");
      // The metrics are gateway-wide: they would show a company other companies' devices, traffic and rejections.
      if (g.scopes?.includes('metrics')) problems.push("a company key may not have the metrics scope: the metrics count every company's devices and traffic");
      break;
    case 'researcher':
      if (g.companyId !== null) problems.push('a researcher key has no companyId');
      if (testbeds !== null && testbeds.length === 0) problems.push('testbedIds of a researcher key, when given, must name at least one testbed');
      if (!g.readOnly) problems.push('a researcher key is always read-only');
      break;
    default:
      unhandled(g.role);
  }
  return problems;
}

const subset = (inner: readonly string[] | null, outer: readonly string[]): boolean => inner !== null && inner.every((t) => outer.includes(t));

/**
 * Whether a key with grant `holder` may see and revoke a key with grant `key`:
 * the admin any; an operator operator and researcher keys within its testbeds;
 * a company its own company's keys; a researcher none.
 */
export function mayManage(holder: KeyGrant, key: KeyGrant): boolean {
  switch (holder.role) {
    case 'admin':
      return true;
    case 'operator':
      return (key.role === 'operator' || key.role === 'researcher') && subset(key.testbedIds, holder.testbedIds ?? []);
    case 'company':
      return key.role === 'company' && key.companyId === holder.companyId;
    case 'researcher':
      return false;
    default:
      return unhandled(holder.role);
  }
}

/**
 * Whether a key holds a scope: explicitly, or through its role. Admin and
 * operator keys read the metrics anyway, so they may hand that on.
 */
export function holdsScope(grant: KeyGrant, scope: KeyScope): boolean {
  switch (scope) {
    case 'metrics':
      return grant.role === 'admin' || grant.role === 'operator' || (grant.scopes ?? []).includes(scope);
    default:
      return unhandled(scope);
  }
}

/**
 * Why `creator` may not create a key with grant `wanted`, or undefined when it
 * may: never wider than its own scope, never outliving it, never from a
 * read-only key.
 */
export function refuseGrant(creator: KeyGrant, wanted: KeyGrant): string | undefined {
  if (creator.readOnly) return 'A read-only key cannot create keys';
  if (!mayManage(creator, wanted)) {
    switch (creator.role) {
      case 'operator':
        return 'An operator key may create only operator and researcher keys, limited to its own testbeds (give testbedIds)';
      case 'company':
        return 'A company key may create only company keys for its own company';
      default:
        return `A ${creator.role} key may not create keys`;
    }
  }
  const notHeld = (wanted.scopes ?? []).filter((s) => !holdsScope(creator, s));
  if (notHeld.length > 0) return `This key may not grant the ${notHeld.join(', ')} scope: it does not hold it`;
  if (creator.expiresAt !== null && (wanted.expiresAt === null || wanted.expiresAt > creator.expiresAt)) {
    return `This key expires at ${isoTime(creator.expiresAt)}; a key it creates must expire no later (give expiresAt)`;
  }
  return undefined;
}

/**
 * The scope of a key, resolved at each request. A researcher's pilots are
 * looked up then (`sharedPilots`), so a pilot made private is out of reach at
 * the next request.
 */
export function scopeOf(grant: KeyGrant, sharedPilots: (testbedIds: readonly string[] | null) => string[]): Scope {
  switch (grant.role) {
    case 'admin':
      return { kind: 'all' };
    case 'operator':
      return { kind: 'testbeds', testbedIds: grant.testbedIds ?? [] };
    case 'company':
      return { kind: 'company', companyId: grant.companyId ?? '' };
    case 'researcher':
      return { kind: 'research', pilotIds: sharedPilots(grant.testbedIds) };
    default:
      return unhandled(grant.role);
  }
}
