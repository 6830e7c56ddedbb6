import { z } from 'zod';
import { DEFAULT_QUERY_LIMIT, MAX_QUERY_LIMIT } from '../limits.js';

const EPOCH_MS = /^\d{1,16}$/;
const isoWithZone = z.iso.datetime({ offset: true });

/** An instant given in a query: epoch milliseconds, or ISO 8601 with a zone. */
export function parseInstant(text: string): number | undefined {
  if (EPOCH_MS.test(text)) {
    const ms = Number(text);
    return Number.isSafeInteger(ms) ? ms : undefined;
  }
  if (!isoWithZone.safeParse(text).success) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

export const instant = (description: string) =>
  z
    .string()
    .transform((text, ctx) => {
      const ms = parseInstant(text);
      if (ms === undefined) {
        ctx.issues.push({
          code: 'custom',
          input: text,
          message: 'must be ISO 8601 with a zone (e.g. 2024-05-01T12:00:00Z) or epoch milliseconds',
        });
        return z.NEVER;
      }
      return ms;
    })
    .meta({ description, examples: ['2024-05-01T12:00:00Z', '1714564800000'] });

/**
 * `from`, `to` and `limit` of a readings or rejections query, as epoch ms. A
 * `limit` beyond the maximum carries its own catalogue code, which the error
 * handler uses instead of TESTBED_BAD_REQUEST.
 */
export const timeRangeQuerySchema = z
  .strictObject({
    from: instant('Inclusive start: ISO 8601 with a zone, or epoch milliseconds').optional(),
    to: instant('Exclusive end: ISO 8601 with a zone, or epoch milliseconds').optional(),
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .refine((n) => n <= MAX_QUERY_LIMIT, {
        message: `limit may be at most ${MAX_QUERY_LIMIT}; to read more, page: repeat the request with from set to 1 ms after the last time returned`,
        params: { code: 'TESTBED_LIMIT_EXCEEDED' },
      })
      .default(DEFAULT_QUERY_LIMIT)
      .meta({ maximum: MAX_QUERY_LIMIT, description: `Rows to return, oldest first (default ${DEFAULT_QUERY_LIMIT}, at most ${MAX_QUERY_LIMIT})` }),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, {
    message: 'from must be earlier than to',
    path: ['to'],
  });
export type TimeRangeQuery = z.infer<typeof timeRangeQuerySchema>;
