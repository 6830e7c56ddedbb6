import { z } from 'zod';
import { apiKeySchema, keyScopeSchema, roleSchema } from '../../core/index.js';
import { component } from './components.js';

const isoWithZone = z.iso.datetime({ offset: true }).meta({ example: '2025-12-31T23:59:59Z' });

export const apiKeyResponseSchema = component('ApiKey', apiKeySchema, 'An API key, without its secret');

export const newApiKeySchema = z.strictObject({
  role: roleSchema.meta({
    description: 'admin, operator (of testbedIds), company (of companyId) or researcher (pilots shared with research or open; always read-only)',
  }),
  companyId: z.string().min(1).optional().meta({ description: 'The company of a company key' }),
  testbedIds: z
    .array(z.string().min(1))
    .min(1)
    .max(50)
    .optional()
    .meta({ description: 'The testbeds of an operator key; for a researcher key, limits it to pilots in these testbeds' }),
  name: z.string().trim().min(1).max(200).optional(),
  expiresAt: isoWithZone
    .optional()
    .meta({ description: 'After this the key answers 401; no expiry when absent (a key that expires may create only keys that expire no later)' }),
  scopes: z
    .array(keyScopeSchema)
    .max(10)
    .optional()
    .meta({
      description:
        'Permissions beside the role. `metrics`: may read GET /metrics (gateway-wide Prometheus metrics). Granted by admin and operator keys; ' +
        "never on a company key, since the metrics count every company's devices and traffic",
    }),
  readOnly: z
    .boolean()
    .optional()
    .meta({ description: 'A read-only key may call no route that changes anything (x-changes: true). Default false; researcher keys are always read-only' }),
});
export type NewApiKey = z.infer<typeof newApiKeySchema>;

export const keysResponseSchema = z.object({ keys: z.array(apiKeyResponseSchema) });

export const keyParamsSchema = z.strictObject({ keyId: z.string().min(1) });
