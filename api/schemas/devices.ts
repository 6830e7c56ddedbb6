import { z } from 'zod';
import { deviceSchema } from '../../core/model.js';
import { isSafeTopicSegment } from '../../core/topics.js';
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
        username: z.string(),
        password: z.string().meta({ description: 'Shown once, stored only as a digest' }),
        topic: z.string().meta({ example: 'devices/dev_abc/readings' }),
      })
      .meta({ description: 'What the device connects and publishes with' }),
  }),
  'The new device and its MQTT credentials; the password is shown only now',
);

export const deviceParamsSchema = z.strictObject({ deviceId: z.string().min(1) });
