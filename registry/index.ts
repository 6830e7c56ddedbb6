/**
 * The registry: testbeds, companies, pilots, devices, API keys and the audit
 * log. Every read and write of tenant data takes the caller's scope.
 */
export { resolveAdminToken, type AdminToken } from './admin-token.js';
export { grantProblems, mayManage, refuseGrant, scopeOf } from './key-policy.js';
export type { PilotChanges, PilotFilter } from './pilots.js';
export * from './registry.js';
