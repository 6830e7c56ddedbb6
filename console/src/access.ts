import { api } from './api.js';
import type { Company } from './types.js';

/**
 * What the signed-in key may see and do, asked of the API once at sign-in:
 * the companies in its scope, and whether it may read operations views (the
 * audit log: admin and operator keys) and list keys (all but researchers).
 * The API decides every request anyway; this only chooses what to offer.
 */
export interface Access {
  readonly companies: readonly Company[];
  readonly mayOperate: boolean;
  readonly mayListKeys: boolean;
}

export async function loadAccess(): Promise<Access> {
  const [companies, mayOperate, mayListKeys] = await Promise.all([api.companies(), api.mayOperate(), api.mayListKeys()]);
  return { companies, mayOperate, mayListKeys };
}

/** The company's name for an id, or the id when the key cannot see it. */
export function companyName(access: Access, id: string): string {
  return access.companies.find((c) => c.id === id)?.name ?? id;
}

/** A short description of the key for the header. */
export function describe(access: Access): string {
  if (access.mayOperate) return 'operations key';
  const only = access.companies.length === 1 ? access.companies[0] : undefined;
  if (only && access.mayListKeys) return `company key: ${only.name}`;
  return access.mayListKeys ? 'company key' : 'read-only research key';
}
