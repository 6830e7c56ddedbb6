import type { z } from 'zod';
import { errorBodySchema } from './error.js';

/**
 * A JSON response with the description the OpenAPI document shows for it.
 * (A bare schema would show "Default Response" when it is a named component.)
 */
export function json<T extends z.ZodType>(description: string, schema: T) {
  return { description, content: { 'application/json': { schema } } } as const;
}

/** The error responses of every route; spread into `schema.response`. */
export const errorResponses = {
  '4xx': json(
    'Refused; the code says why: 400 invalid request or beyond a query limit, 401 no valid key, 403 admin only, ' +
      '404 no such route or object (or not visible to this key), 409 conflict, 413 body too large',
    errorBodySchema,
  ),
  '5xx': json('Failed on the server: 500 internal (see the log), 503 reading store unavailable (retry)', errorBodySchema),
} as const;
