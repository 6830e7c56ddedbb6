import { z } from 'zod';

/**
 * A device's configuration, as a desired document (set through the API, sent
 * to the device) and a reported one (what the device says it runs with). The
 * keys are those its profile declares. One definition for the registry, the
 * gateway, the API and the simulators.
 */
const isoTime = z.iso.datetime({ offset: true });

export const configDocumentSchema = z.record(z.string(), z.unknown()).meta({ example: { reportingIntervalSeconds: 60 } });
export type ConfigDocument = z.infer<typeof configDocumentSchema>;

/**
 * The retained message on `devices/{deviceId}/config/desired` (QoS 1). The
 * version grows by one with every change, so a device applies each version
 * once and says which it applied.
 */
export const desiredConfigMessageSchema = z.object({
  version: z.number().int().positive(),
  config: configDocumentSchema,
});
export type DesiredConfigMessage = z.infer<typeof desiredConfigMessageSchema>;

/** A desired document to send, with when it was set (epoch ms): what the gateway reads from the registry. */
export interface DesiredConfigChange {
  readonly deviceId: string;
  readonly message: DesiredConfigMessage;
  readonly updatedAt: number;
}

/** The device's report on `devices/{deviceId}/config/reported`: its whole configuration, and the desired version it applied, if any. */
export const reportedConfigMessageSchema = z.strictObject({
  version: z.number().int().nonnegative().optional(),
  config: configDocumentSchema,
});
export type ReportedConfigMessage = z.infer<typeof reportedConfigMessageSchema>;

/** One key on which the desired and reported documents differ (`reported` absent when the device has not reported the key). */
export const configDifferenceSchema = z.object({ desired: z.unknown(), reported: z.unknown().optional() });

/** A device's configuration as the API shows it. */
export const deviceConfigSchema = z.object({
  deviceId: z.string(),
  desired: z
    .object({
      version: z.number().int(),
      config: configDocumentSchema,
      updatedAt: isoTime,
      /** The API key that set it (`admin` for the configured admin token). */
      updatedBy: z.string(),
    })
    .nullable(),
  reported: z
    .object({
      config: configDocumentSchema,
      /** The desired version the device says it applied; null when it did not say. */
      version: z.number().int().nullable(),
      at: isoTime,
    })
    .nullable(),
  /** The desired keys whose reported value differs or is missing: what the device has yet to apply. */
  delta: z.record(z.string(), configDifferenceSchema),
  /** True when every desired key is reported with the desired value (and so when nothing is desired). */
  inSync: z.boolean(),
});
export type DeviceConfig = z.infer<typeof deviceConfigSchema>;

/** Desired keys whose reported value is not the same JSON value. */
export function configDelta(desired: ConfigDocument | undefined, reported: ConfigDocument | undefined): DeviceConfig['delta'] {
  const delta: DeviceConfig['delta'] = {};
  for (const [key, value] of Object.entries(desired ?? {})) {
    const has = reported !== undefined && Object.hasOwn(reported, key);
    if (!has) delta[key] = { desired: value };
    else if (JSON.stringify(reported[key]) !== JSON.stringify(value)) delta[key] = { desired: value, reported: reported[key] };
  }
  return delta;
}
