import { z } from 'zod';
import { keyScopeSchema, roleSchema } from '../../core/index.js';
import { component } from './components.js';

/** `GET /v1/me`: the key that asks, its scope, and the operations it may call. */
export const meResponseSchema = component(
  'Me',
  z.object({
    keyId: z.string().meta({ description: 'The key id; `admin` for the configured admin token' }),
    role: roleSchema,
    companyId: z.string().nullable().meta({ description: 'The company of a company key; null otherwise' }),
    testbedIds: z.array(z.string()).nullable().meta({ description: 'The testbeds the key is limited to; null: not limited by testbed' }),
    readOnly: z.boolean(),
    scopes: z.array(keyScopeSchema).meta({ description: 'Permissions beside the role: `metrics` reads GET /metrics' }),
    expiresAt: z.iso.datetime().nullable(),
    operations: z.array(z.string()).meta({
      description:
        'Every operation of this API the key may call, as "METHOD /path" in the OpenAPI document\'s spelling; objects outside its scope still answer 404',
      example: ['GET /v1/pilots', 'POST /v1/pilots/{pilotId}/devices'],
    }),
  }),
  'The calling key: its role, scope and permitted operations',
);
