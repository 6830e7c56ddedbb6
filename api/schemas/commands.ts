import { z } from 'zod';
import { commandParamsSchema, commandSchema, commandStatusSchema } from '../../core/index.js';
import { MAX_COMMAND_TTL_SECONDS } from '../../device-profiles/index.js';
import { component } from './components.js';

export const commandResponseSchema = component('Command', commandSchema, 'A command to a device: its status and when it took each one');

export const newCommandSchema = z.strictObject({
  name: z.string().min(1).meta({ description: "One of the commands of the device's profile (GET /v1/profiles)", example: 'set_interval' }),
  params: commandParamsSchema.default({}).meta({ description: 'Its parameters, checked against the profile', example: { seconds: 30 } }),
  ttlSeconds: z
    .number()
    .int()
    .positive()
    .max(MAX_COMMAND_TTL_SECONDS)
    .optional()
    .meta({ description: "How long it stays worth doing: past it, undelivered or unanswered, it expires. Default: the profile's ttlSeconds" }),
});

export const commandParamsPathSchema = z.strictObject({ deviceId: z.string().min(1), commandId: z.string().min(1) });

export const commandsQuerySchema = z.strictObject({
  status: commandStatusSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100).meta({ description: 'The newest this many' }),
});

export const commandsResponseSchema = z.object({ commands: z.array(commandResponseSchema) });
