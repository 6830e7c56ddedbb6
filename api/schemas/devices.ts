import { z } from 'zod';
import { deviceLocationSchema, deviceSchema, isSafeTopicSegment, pointSchema, USERNAME_UNAVAILABLE } from '../../core/index.js';
import { MAX_BULK_DEVICES } from '../limits.js';
import { component } from './components.js';
import { withTerms } from './terms.js';

export const deviceResponseSchema = component('Device', deviceSchema, 'A device');

const isoWithZone = z.iso.datetime({ offset: true }).meta({ example: '2025-05-01T08:00:00Z' });

/** Where a device stands and its time in the field: given at registration or changed with PATCH. */
const fieldData = {
  location: pointSchema,
  placement: z.string().trim().min(1).max(500).meta({ example: 'lamp post, 4 m, north side' }),
  installedAt: isoWithZone,
  removedAt: isoWithZone,
};
const inOrder = (d: { installedAt?: string | null | undefined; removedAt?: string | null | undefined }) =>
  !d.installedAt || !d.removedAt || Date.parse(d.removedAt) >= Date.parse(d.installedAt);
const ORDER = { message: 'removedAt must not be earlier than installedAt', path: ['removedAt'] };

export const newDeviceSchema = z
  .strictObject({
    location: fieldData.location.optional(),
    placement: fieldData.placement.optional(),
    installedAt: fieldData.installedAt.optional(),
    removedAt: fieldData.removedAt.optional(),
    profile: z.string().min(1).meta({ description: 'A device profile id; GET /v1/profiles lists them', example: 'weather' }),
    name: z.string().trim().min(1).max(200).optional(),
    username: z.string().refine(isSafeTopicSegment, USERNAME_UNAVAILABLE).optional().meta({ description: 'The MQTT username; the device id when not given' }),
  })
  .refine(inOrder, ORDER);
export type NewDeviceBody = z.infer<typeof newDeviceSchema>;

/** `PATCH /v1/devices/{deviceId}`: null clears a field; a new location starts a new stretch of its history. */
export const deviceChangesSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200).nullable().optional(),
    location: fieldData.location.nullable().optional(),
    placement: fieldData.placement.nullable().optional(),
    installedAt: fieldData.installedAt.nullable().optional(),
    removedAt: fieldData.removedAt.nullable().optional(),
  })
  .refine((c) => Object.keys(c).length > 0, { message: 'give at least one of name, location, placement, installedAt, removedAt' })
  .refine(inOrder, ORDER);

export const deviceLocationsSchema = withTerms(
  z.object({
    locations: z.array(component('DeviceLocation', deviceLocationSchema, 'Where a device stood, from when until when')),
  }),
);

export const devicesQuerySchema = z.strictObject({
  bbox: z.string().optional().meta({
    description: 'minLon,minLat,maxLon,maxLat (WGS84): only devices located in the box, as this caller sees their locations',
    example: '24.5,60.1,25.3,60.4',
  }),
});

export const createdDeviceSchema = component(
  'CreatedDevice',
  deviceSchema.extend({
    mqtt: z
      .object({
        url: z.string().meta({
          description: 'The broker to connect to (TESTBED_PUBLIC_MQTT_URL, or the gateway itself)',
          example: 'mqtt://testbed.example.org:1883',
        }),
        username: z.string(),
        password: z.string().meta({ description: 'Shown once, stored only as a digest' }),
        topic: z.string().meta({ example: 'devices/dev_abc/readings' }),
      })
      .meta({ description: 'What the device connects and publishes with' }),
  }),
  'The new device and its MQTT credentials; the password is shown only now',
);

export const deviceParamsSchema = z.strictObject({ deviceId: z.string().min(1) });

/** A device with its connection status, as the gateway sees it now. */
export const deviceViewSchema = component(
  'DeviceStatus',
  deviceSchema.extend({
    connection: z
      .object({
        online: z.boolean(),
        lastSeen: z.iso.datetime().nullable().meta({ description: 'Its last CONNECT or message since the gateway started; null when not seen' }),
      })
      .meta({ description: 'Whether the device is connected to the gateway now' }),
  }),
  'A device, its profile and its connection status',
);

export const devicesResponseSchema = withTerms(z.object({ devices: z.array(deviceViewSchema) }));

/** Bulk registration: a JSON list, or CSV with a header row naming the same fields (location as lon, lat, alt columns). */
export const bulkDevicesSchema = z.strictObject({
  devices: z
    .array(newDeviceSchema)
    .min(1)
    .refine((list) => list.length <= MAX_BULK_DEVICES, {
      message: `at most ${MAX_BULK_DEVICES} devices in one request; send the rest in another`,
      params: { code: 'TESTBED_LIMIT_EXCEEDED' },
    })
    .meta({ maxItems: MAX_BULK_DEVICES }),
});

export const createdDevicesSchema = z.object({ devices: z.array(createdDeviceSchema) });
