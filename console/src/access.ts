import { api } from './api.js';
import type { Company, Me } from './types.js';

/**
 * What the signed-in key may see and do, asked of the API once at sign-in:
 * the key itself (`GET /v1/me`: role, scope, the operations it may call) and
 * the companies in its scope. The API decides every request anyway; this only
 * chooses what to offer, so a button never leads to a certain 403.
 */
export interface Access {
  readonly me: Me;
  readonly companies: readonly Company[];
  /** Admin and operator keys: the testbed views (health, alerts, the audit log). */
  readonly mayOperate: boolean;
  readonly mayListKeys: boolean;
  /** Whether the key may call an operation, named as the OpenAPI document names it: `POST /v1/pilots/{pilotId}/devices`. */
  may(operation: string): boolean;
}

export async function loadAccess(): Promise<Access> {
  const [me, companies] = await Promise.all([api.me(), api.companies()]);
  const operations = new Set(me.operations);
  const may = (operation: string) => operations.has(operation);
  return { me, companies, mayOperate: may('GET /v1/audit'), mayListKeys: may('GET /v1/keys'), may };
}

/** The company's name for an id, or the id when the key cannot see it. */
export function companyName(access: Access, id: string): string {
  return access.companies.find((c) => c.id === id)?.name ?? id;
}

/** A short description of the key for the header. */
export function describe(access: Access): string {
  const { me } = access;
  const ro = me.readOnly && me.role !== 'researcher' ? ', read-only' : '';
  switch (me.role) {
    case 'admin':
      return `admin key${ro}`;
    case 'operator':
      return `operator key: ${(me.testbedIds ?? []).join(', ')}${ro}`;
    case 'company':
      return `company key: ${access.companies.find((c) => c.id === me.companyId)?.name ?? me.companyId ?? ''}${ro}`;
    case 'researcher':
      return 'read-only research key';
  }
}
