import { z } from 'zod';
import { errorBodySchema } from './error.js';

/**
 * A JSON response with the description the OpenAPI document shows for it.
 * (A bare schema would show "Default Response" when it is a named component.)
 */
export function json<T extends z.ZodType>(description: string, schema: T) {
  return { description, content: { 'application/json': { schema } } } as const;
}

const csvText = z.string().meta({
  description:
    'With format=csv: RFC 4180, a header row `time,deviceId,<measurement>...`, ISO 8601 UTC times, a row per reading or window. ' +
    "An open pilot's export opens with one comment line before the header: `# licence: <SPDX id>; licence URL: <url>; attribution: <text>; citation: <text>`",
});
const ndjsonText = z.string().meta({
  description:
    'With format=ndjson: one JSON object a line, `{ "time", "deviceId", "values" }`; an open pilot\'s lines each also carry `licence`, `licenceUrl`, `attribution` and `citation`',
});

/** A readings answer: JSON, or with `format=csv|ndjson` the same rows streamed as a download. */
export function data<T extends z.ZodType>(description: string, schema: T) {
  return { description, content: { 'application/json': { schema }, 'text/csv': { schema: csvText }, 'application/x-ndjson': { schema: ndjsonText } } } as const;
}

/** The error responses of every route; spread into `schema.response`. */
export const errorResponses = {
  '4xx': json(
    'Refused; the code says why: 400 invalid request or beyond a query limit (TESTBED_LIMIT_EXCEEDED names the limit), 401 no valid key, ' +
      "403 the key's role or read-only flag does not allow it (see x-roles and x-changes), 404 no such route or object (or not visible to this key), " +
      '409 conflict, 413 body too large, 429 too many requests from this key (Retry-After says when to retry)',
    errorBodySchema,
  ),
  '5xx': json('Failed on the server: 500 internal (see the log), 503 reading store unavailable (retry)', errorBodySchema),
} as const;
