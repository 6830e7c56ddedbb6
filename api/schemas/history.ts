import { z } from 'zod';
import { component } from './components.js';

/** Times in responses: ISO 8601 in UTC with milliseconds, e.g. 2024-05-01T12:00:00.000Z. */
const utcTime = z.iso.datetime();

export const readingSchema = component(
  'Reading',
  z.object({
    time: utcTime,
    values: z.record(z.string(), z.number()).meta({ description: 'Measurement name -> value in the profile\'s canonical unit' }),
  }),
  'A device\'s values at one instant',
);

export const readingsResponseSchema = z.object({ readings: z.array(readingSchema) });

export const rejectionSchema = component(
  'Rejection',
  z.object({
    time: utcTime.meta({ description: 'When the gateway received the payload' }),
    code: z.string().meta({ example: 'TESTBED_READING_OUT_OF_RANGE' }),
    reason: z.string(),
    payload: z.string().meta({ description: 'The payload as received, capped' }),
    payloadEncoding: z.enum(['utf8', 'base64']),
    payloadBytes: z.number().int().nonnegative().meta({ description: 'Size of the whole payload before capping' }),
  }),
  'A payload the gateway did not store, and why',
);

export const rejectionsResponseSchema = z.object({ rejections: z.array(rejectionSchema) });
