import { configDocumentSchema, deviceConfigSchema } from '../../core/index.js';
import { component } from './components.js';

export const deviceConfigResponseSchema = component(
  'DeviceConfig',
  deviceConfigSchema,
  "A device's desired configuration (versioned), the one it reports, and the desired keys it has yet to apply",
);

export const desiredConfigBodySchema = configDocumentSchema.meta({
  description: "The whole desired configuration: keys the device's profile declares (GET /v1/profiles, `configuration`), checked like measurements",
  example: { reportingIntervalSeconds: 60 },
});
