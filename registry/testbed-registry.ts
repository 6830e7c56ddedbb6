import type { ApiKey, AuditEntry, Caller, Company, Device, KeyGrant, Pilot, Scope, Testbed, Webhook, WebhookDelivery, WebhookEvent } from '../core/index.js';
import type { AuditQuery, AuditRecord } from './audit.js';
import type { DeviceProblem, NewDevice } from './devices.js';
import type { NewPilot, PilotChanges, PilotFilter } from './pilots.js';

/** A device just registered, with its MQTT password: shown once, stored only as a digest. */
export interface CreatedDevice {
  readonly device: Device;
  readonly password: string;
}

/** A key just created: `key` is shown once, stored only as a digest. */
export interface CreatedKey {
  readonly key: string;
  readonly apiKey: ApiKey;
}

/** A webhook to create: its target is a pilot, a testbed (admins and operators), or neither (the caller's whole scope). */
export interface NewWebhook {
  readonly url: string;
  readonly events: readonly WebhookEvent[];
  readonly pilotId?: string | undefined;
  readonly testbedId?: string | undefined;
}

/** A webhook just created, with its signing secret: shown once. */
export interface CreatedWebhook {
  readonly webhook: Webhook;
  readonly secret: string;
}

/**
 * The registry as the API reaches it: the one door to tenant data. Every read
 * and write of a company, pilot, device, key or audit entry takes the caller's
 * `Scope` (or, where key policy decides, the caller's `KeyGrant` or `Caller`)
 * as its first argument, so a read that forgets the caller does not compile.
 * What takes no caller is how a caller is resolved in the first place, the
 * public testbed catalogue, the clock and the registry's own secrets.
 *
 * An object outside the scope is answered as a missing one (undefined), so a
 * caller cannot tell the two apart.
 */
export interface TestbedRegistry {
  /** The caller of a presented key, or undefined when it is unknown, wrong, revoked or expired. */
  authenticateKey(presented: string): Caller | undefined;
  /** The caller of a key that authenticated earlier, resolved afresh: for requests that outlive that moment. */
  recheckKey(keyId: string): Caller | undefined;
  /** The registry's clock (epoch ms): what expiry and revocation times are compared with. */
  now(): number;
  /** A named random secret, made on first use and kept (e.g. the cursor-signing key). */
  secret(name: string): Buffer;

  /** The testbeds: the public catalogue, the same for every key. */
  listTestbeds(): Testbed[];
  getTestbed(id: string): Testbed | undefined;

  /** Only the `all` scope (the admin) creates companies; others get TESTBED_FORBIDDEN. */
  createCompany(scope: Scope, name: string): Company;
  getCompany(scope: Scope, id: string): Company | undefined;
  listCompanies(scope: Scope): Company[];
  /** A key of a company the creator sees, within key policy (TESTBED_FORBIDDEN otherwise). */
  createCompanyKey(creator: Caller, companyId: string, name?: string): CreatedKey;

  /** A pilot in a testbed of the scope: the admin anywhere, an operator in its own testbeds. */
  createPilot(scope: Scope, input: NewPilot): Pilot;
  getPilot(scope: Scope, id: string): Pilot | undefined;
  listPilots(scope: Scope, filter?: PilotFilter): Pilot[];
  updatePilot(scope: Scope, id: string, changes: PilotChanges): Pilot | undefined;
  /** Ends a pilot now: its devices can no longer connect. Ending twice keeps the first time. */
  endPilot(scope: Scope, id: string): Pilot | undefined;

  /** Registers a device in a pilot of the scope; a username in use is TESTBED_CONFLICT. */
  createDevice(scope: Scope, pilotId: string, input: NewDevice): CreatedDevice;
  /**
   * The problems of new devices for a pilot of the scope. Usernames are MQTT
   * usernames, one namespace for the whole gateway, so one taken by any tenant
   * is reported (without saying by whom).
   */
  checkNewDevices(scope: Scope, pilotId: string, inputs: readonly NewDevice[]): DeviceProblem[];
  /** Registers devices in a pilot of the scope, all or nothing. */
  createDevices(scope: Scope, pilotId: string, inputs: readonly NewDevice[]): CreatedDevice[];
  getDevice(scope: Scope, id: string): Device | undefined;
  /** The devices of a pilot that the scope may see, oldest first. */
  listDevices(scope: Scope, pilotId: string): Device[];
  /** A new secret for a device; the old one stops working at once. A revoked device is TESTBED_CONFLICT. */
  rotateDevice(scope: Scope, id: string): CreatedDevice | undefined;
  revokeDevice(scope: Scope, id: string): Device | undefined;

  /** A key no wider than its creator's (key-policy.ts); TESTBED_FORBIDDEN otherwise. */
  createKey(creator: Caller, wanted: KeyGrant, name: string | null): CreatedKey;
  /** The keys the holder may manage, oldest first, revoked and expired ones included. */
  listKeys(holder: KeyGrant): ApiKey[];
  revokeKey(holder: KeyGrant, id: string): ApiKey | undefined;

  /**
   * A webhook on a pilot the caller sees, a testbed it operates (admin,
   * operator), or without a target: a company's whole company, the admin's
   * everything (an operator must name a testbed or pilot). TESTBED_FORBIDDEN or
   * TESTBED_NOT_FOUND otherwise. The URL is checked by the caller beforehand.
   */
  createWebhook(creator: Caller, input: NewWebhook): CreatedWebhook;
  getWebhook(scope: Scope, id: string): Webhook | undefined;
  listWebhooks(scope: Scope): Webhook[];
  /** Deletes a webhook and its pending messages. */
  deleteWebhook(scope: Scope, id: string): Webhook | undefined;
  /** The newest messages of a webhook the scope sees, with every attempt; undefined when it sees no such webhook. */
  listWebhookDeliveries(scope: Scope, id: string, limit: number): WebhookDelivery[] | undefined;

  /** Writes one audit entry for a request made by `caller`. */
  recordAudit(caller: Caller, entry: AuditRecord): void;
  /** The audit entries the scope may see, oldest first. */
  listAudit(scope: Scope, query: AuditQuery): AuditEntry[];
}
