import { z } from 'zod';

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
});
export type Testbed = z.infer<typeof testbedSchema>;

export const companySchema = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: isoTime,
});
export type Company = z.infer<typeof companySchema>;

export const pilotSchema = z.object({
  id: z.string(),
  companyId: z.string(),
  testbedId: z.string(),
  name: z.string(),
  startsAt: isoTime.nullable(),
  endsAt: isoTime.nullable(),
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
});
export type Device = z.infer<typeof deviceSchema>;

export const roleSchema = z.enum(['admin', 'company']);
export type Role = z.infer<typeof roleSchema>;

export const apiKeySchema = z.object({
  id: z.string(),
  role: roleSchema,
  companyId: z.string().nullable(),
  name: z.string().nullable(),
  createdAt: isoTime,
});
export type ApiKey = z.infer<typeof apiKeySchema>;

/**
 * What a data access may see, resolved once per request from the caller's key
 * and passed explicitly into every read. There is no unscoped read.
 */
export type Scope = { readonly kind: 'all' } | { readonly kind: 'company'; readonly companyId: string };

/** The authenticated caller of an API request. */
export interface Caller {
  readonly keyId: string;
  readonly role: Role;
  readonly scope: Scope;
}

/** What the gateway knows about a connected device, resolved once at CONNECT. */
export interface DeviceContext {
  readonly deviceId: string;
  readonly pilotId: string;
  readonly companyId: string;
  readonly testbedId: string;
  readonly profile: string;
  /** Epoch ms; null when open-ended. */
  readonly pilotStartsAt: number | null;
  readonly pilotEndsAt: number | null;
}
