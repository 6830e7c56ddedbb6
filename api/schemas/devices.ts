import { z } from 'zod';
import { deviceSchema, isSafeTopicSegment } from '../../core/index.js';
import { MAX_BULK_DEVICES } from '../limits.js';
import { component } from './components.js';

export const deviceResponseSchema = component('Device', deviceSchema, 'A device');

export const newDeviceSchema = z.strictObject({
  profile: z.string().min(1).meta({ description: 'A device profile id; GET /v1/profiles lists them', example: 'weather' }),
  name: z.string().trim().min(1).max(200).optional(),
  username: z
    .string()
    .refine(isSafeTopicSegment, 'may use only letters, digits and _ . : @ - (at most 128)')
    .optional()
    .meta({ description: 'The MQTT username; the device id when not given' }),
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

export const devicesResponseSchema = z.object({ devices: z.array(deviceViewSchema) });

/** Bulk registration: a JSON list, or CSV with a header row naming the same fields (profile, name, username). */
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
