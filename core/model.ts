import { z } from 'zod';
import { pointSchema } from './geo.js';
import { licenceSchema } from './licence.js';

/**
 * The registry's entities, as the API shows them. These zod schemas are the
 * single definition: the registry returns these types and the API uses the
 * same schemas for its responses and its OpenAPI document.
 */
const isoTime = z.iso.datetime({ offset: true });

export const testbedSchema = z.object({
  id: z.string().meta({ example: 'helsinki' }),
  name: z.string(),
  city: z.string(),
  /** The retention of its pilots' readings in days, for pilots that set none; null: kept until erased. */
  retentionDays: z.number().int().positive().nullable(),
});
export type Testbed = z.infer<typeof testbedSchema>;

export const companySchema = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: isoTime,
});
export type Company = z.infer<typeof companySchema>;

/**
 * Who may read a pilot's data besides its company and the operators of its
 * testbed: nobody (`private`), researchers (`research`), or researchers as
 * open data (`open`).
 */
export const sharingSchema = z
  .enum(['private', 'research', 'open'])
  .meta({ description: 'private: the company and the testbed operators; research and open: researchers too' });
export type Sharing = z.infer<typeof sharingSchema>;

/** What an open pilot is until its `openFrom` (its embargo). */
export const embargoSharingSchema = z.enum(['private', 'research']).meta({ description: 'What an open pilot with an openFrom in the future is until then' });
export type EmbargoSharing = z.infer<typeof embargoSharingSchema>;

export const pilotSchema = z.object({
  id: z.string(),
  companyId: z.string(),
  testbedId: z.string(),
  name: z.string(),
  startsAt: isoTime.nullable(),
  endsAt: isoTime.nullable(),
  /** When the pilot was ended early through the API; its devices may no longer connect. */
  endedAt: isoTime.nullable(),
  /** The tier as set; for `open` with a future `openFrom`, `sharingNow` says what it is meanwhile. */
  sharing: sharingSchema,
  /** When an `open` pilot's embargo ends; null: open as soon as `sharing` says so. */
  openFrom: isoTime.nullable(),
  /** What an open pilot is until `openFrom`. */
  embargoSharing: embargoSharingSchema,
  /** The tier in force at the time of the answer: `sharing`, or `embargoSharing` before `openFrom`. */
  sharingNow: sharingSchema,
  /** SPDX id of the data's licence; an open pilot always has one (CC-BY-4.0 unless chosen). */
  licence: licenceSchema.nullable(),
  /** Who must be credited, e.g. "City of Espoo, Acme Oy". */
  attribution: z.string().nullable(),
  /** How to cite the data set, when the publisher asks for a particular form. */
  citation: z.string().nullable(),
  /** Device locations are published to researchers and anonymous readers on a grid of this many metres; null: exact. */
  locationPrecisionMeters: z.number().positive().nullable(),
  /** Readings older than this many days are deleted by the daily retention sweep; null: the testbed's default (if any). */
  retentionDays: z.number().int().positive().nullable(),
  createdAt: isoTime,
});
export type Pilot = z.infer<typeof pilotSchema>;

export const deviceSchema = z.object({
  id: z.string(),
  pilotId: z.string(),
  companyId: z.string(),
  testbedId: z.string(),
  profile: z.string(),
  name: z.string().nullable(),
  /** The MQTT username; the device id unless another was given. */
  username: z.string(),
  createdAt: isoTime,
  /** When its secret was last replaced; null while it has its first. */
  secretRotatedAt: isoTime.nullable(),
  /** When it was revoked; a revoked device can no longer connect. */
  revokedAt: isoTime.nullable(),
  /** Where it stands now (WGS84); coarsened for researchers and anonymous readers when the pilot says so. */
  location: pointSchema.nullable(),
  /** The grid, in metres, `location` was coarsened to for this reader; null: exact. */
  locationPrecisionMeters: z.number().positive().nullable(),
  /** How it is mounted, e.g. "lamp post, 4 m, north side". */
  placement: z.string().nullable(),
  /** When it was installed in the field and when it was taken down; independent of its MQTT credentials. */
  installedAt: isoTime.nullable(),
  removedAt: isoTime.nullable(),
});
export type Device = z.infer<typeof deviceSchema>;

/** One stretch of a device's location history: where it stood from `from` until `to` (null: still there). */
export const deviceLocationSchema = z.object({
  deviceId: z.string(),
  location: pointSchema,
  from: isoTime,
  to: isoTime.nullable(),
});
export type DeviceLocation = z.infer<typeof deviceLocationSchema>;

/**
 * The four roles. admin: everything. operator: every pilot and device in its
 * testbeds. company: its own pilots. researcher: pilots shared with research or
 * published as open data, read only.
 */
export const roleSchema = z.enum(['admin', 'operator', 'company', 'researcher']);
export type Role = z.infer<typeof roleSchema>;
export const ROLES: readonly Role[] = roleSchema.options;

/**
 * Extra permissions a key may carry beside its role. `metrics`: read the
 * gateway-wide Prometheus metrics at `GET /metrics` on the API port.
 */
export const keyScopeSchema = z.enum(['metrics']);
export type KeyScope = z.infer<typeof keyScopeSchema>;

export const apiKeySchema = z.object({
  id: z.string(),
  role: roleSchema,
  /** The company of a company key; null otherwise. */
  companyId: z.string().nullable(),
  /** The testbeds of an operator key, or those a researcher key is limited to; null: not limited by testbed. */
  testbedIds: z.array(z.string()).nullable(),
  name: z.string().nullable(),
  readOnly: z.boolean(),
  /** Permissions beside the role (`metrics`); empty for most keys. */
  scopes: z.array(keyScopeSchema),
  expiresAt: isoTime.nullable(),
  revokedAt: isoTime.nullable(),
  /** The key that created it; `admin` for the configured admin token, null when made outside the API. */
  createdBy: z.string().nullable(),
  createdAt: isoTime,
});
export type ApiKey = z.infer<typeof apiKeySchema>;

/**
 * What a data access may see, resolved once per request from the caller's key
 * and passed explicitly into every registry and store read. There is no
 * unscoped read: `all` is a scope like the others, held only by admin keys.
 *
 * - `company`: the pilots (and their devices and readings) of one company;
 * - `testbeds`: everything in these testbeds (an operator);
 * - `research`: exactly these pilots, the ones shared with research or open
 *   when the key was resolved (a researcher).
 */
export type Scope =
  | { readonly kind: 'all' }
  | { readonly kind: 'company'; readonly companyId: string }
  | { readonly kind: 'testbeds'; readonly testbedIds: readonly string[] }
  | { readonly kind: 'research'; readonly pilotIds: readonly string[] };

/** Where an object sits, as far as scopes are concerned. */
export interface Placement {
  readonly companyId: string;
  readonly testbedId: string;
  readonly pilotId: string;
}

/** For the `default:` of an exhaustive switch: a new Scope kind does not compile until handled. */
export function unhandled(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}

/** Whether `scope` may see an object placed at `at`. The SQL and InfluxQL filters say the same. */
export function scopeAdmits(scope: Scope, at: Placement): boolean {
  switch (scope.kind) {
    case 'all':
      return true;
    case 'company':
      return at.companyId === scope.companyId;
    case 'testbeds':
      return scope.testbedIds.includes(at.testbedId);
    case 'research':
      return scope.pilotIds.includes(at.pilotId);
    default:
      return unhandled(scope);
  }
}

/**
 * Who calls: a key's role, or `anonymous` for a request without a key. An
 * anonymous caller has a `research` scope over the pilots open at that moment
 * (`Registry.anonymousCaller`), so it reads through the same scoped paths as a
 * researcher; routes admit it only by listing `anonymous` in their roles.
 */
export type CallerRole = Role | 'anonymous';

/** The key id an anonymous caller carries; no key has it (key ids start with `key_`). */
export const ANONYMOUS_KEY_ID = 'anonymous';

/** The caller of an API request: a key's holder, or anonymous. */
export interface Caller {
  readonly keyId: string;
  readonly role: CallerRole;
  readonly scope: Scope;
  /** A read-only key may call no route that changes anything. */
  readonly readOnly: boolean;
  /** The key's own grant (company, testbeds, expiry): what keys it may create. */
  readonly grant: KeyGrant;
}

/** What a key is allowed, as stored: the input of scope resolution and of key policy. */
export interface KeyGrant {
  readonly role: Role;
  readonly companyId: string | null;
  readonly testbedIds: readonly string[] | null;
  readonly readOnly: boolean;
  /** Permissions beside the role; absent or empty: none. */
  readonly scopes?: readonly KeyScope[];
  /** Epoch ms, or null for no expiry. */
  readonly expiresAt: number | null;
}

/** What the gateway knows about a connected device, resolved once at CONNECT. */
export interface DeviceContext {
  readonly deviceId: string;
  readonly pilotId: string;
  readonly companyId: string;
  readonly testbedId: string;
  readonly profile: string;
  /** The device's display name at CONNECT (a rename shows from its next connection); null or absent when it has none. */
  readonly name?: string | null;
  /** Epoch ms; null when open-ended. */
  readonly pilotStartsAt: number | null;
  readonly pilotEndsAt: number | null;
}

/** One line of the access audit log: which key read or changed what, when, and how it was answered. */
export const auditEntrySchema = z.object({
  id: z.number().int(),
  time: isoTime,
  keyId: z.string(),
  role: roleSchema,
  action: z.enum(['read', 'change']),
  method: z.string(),
  /** The route pattern, e.g. `/v1/pilots/:pilotId/readings`. */
  route: z.string(),
  /** The path and query as requested (capped). */
  url: z.string(),
  status: z.number().int(),
  /** Where the object read or changed sits, when the request reached one. */
  companyId: z.string().nullable(),
  testbedId: z.string().nullable(),
  pilotId: z.string().nullable(),
  deviceId: z.string().nullable(),
  /**
   * What a change changed, field by field, old value to new: a pilot's sharing,
   * embargo, licence, attribution, citation, location precision, name and
   * dates; a command sent (`commandId`, `name`, `params`, `expiresAt`, from
   * null); a desired configuration set (`version` and `config`, old to new).
   * Null for reads and for changes that record no detail.
   */
  detail: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })).nullable(),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;
/** A change's detail in the audit log: field -> { from, to }. */
export type AuditDetail = NonNullable<AuditEntry['detail']>;
