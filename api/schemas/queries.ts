import { z } from 'zod';
import { AGGREGATE_FUNCTIONS } from '../../store/index.js';
import { DEFAULT_QUERY_LIMIT, MAX_QUERY_LIMIT } from '../limits.js';
import { instant } from './time-range.js';

const MEASUREMENT = /^[a-z][a-z0-9_]{0,63}$/;
const UNITS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const MAX_EVERY_MS = 366 * UNITS.d;

export const formatParam = z
  .enum(['json', 'csv', 'ndjson'])
  .default('json')
  .meta({
    description:
      'json: one page (or one answer). csv (RFC 4180, a header row, ISO times, one column per measurement) or ndjson (one JSON object a line): ' +
      'the whole range, streamed, read from the store a piece at a time',
  });

export const limitParam = z.coerce
  .number()
  .int()
  .min(1)
  .refine((n) => n <= MAX_QUERY_LIMIT, {
    message: `limit may be at most ${MAX_QUERY_LIMIT}; to read more, follow the next cursor, or export the whole range with format=csv or format=ndjson`,
    params: { code: 'TESTBED_LIMIT_EXCEEDED' },
  })
  .optional()
  .meta({
    maximum: MAX_QUERY_LIMIT,
    description: `Rows in a page (default ${DEFAULT_QUERY_LIMIT}, at most ${MAX_QUERY_LIMIT}); with csv or ndjson, the most rows to export (default: all)`,
  });

export const cursorParam = z
  .string()
  .min(1)
  .max(2000)
  .optional()
  .meta({ description: 'The `next` of the previous page, unchanged. Opaque; valid only with the key that got it and the same query' });

export const measurementsParam = z
  .string()
  .transform((text, ctx) => {
    const names = [
      ...new Set(
        text
          .split(',')
          .map((n) => n.trim())
          .filter(Boolean),
      ),
    ];
    const bad = names.filter((n) => !MEASUREMENT.test(n));
    if (names.length === 0 || names.length > 50 || bad.length > 0) {
      ctx.issues.push({ code: 'custom', input: text, message: 'must be 1 to 50 measurement names (lower_snake_case), comma-separated' });
      return z.NEVER;
    }
    return names;
  })
  .optional()
  .meta({ description: 'Only these measurements, comma-separated (e.g. pm25,pm10); all when absent', example: 'pm25,pm10' });

const from = instant('Inclusive start: ISO 8601 with a zone, or epoch milliseconds');
const to = instant('Exclusive end: ISO 8601 with a zone, or epoch milliseconds');
const ordered = <T extends { from?: number | undefined; to?: number | undefined }>(q: T) => q.from === undefined || q.to === undefined || q.from < q.to;
const orderMessage = { message: 'from must be earlier than to', path: ['to'] };

/** Raw readings: a page in JSON with a `next` cursor, or the whole range exported. */
export const rawQuerySchema = z
  .strictObject({
    from: from.optional().meta({ description: 'Inclusive start: ISO 8601 with a zone, or epoch milliseconds. Default: the first reading' }),
    to: to.optional().meta({ description: 'Exclusive end: ISO 8601 with a zone, or epoch milliseconds. Default: now' }),
    limit: limitParam,
    cursor: cursorParam,
    measurements: measurementsParam,
    format: formatParam,
  })
  .refine(ordered, orderMessage);
export type RawQueryParams = z.infer<typeof rawQuerySchema>;

/** `every`: a whole number of s, m, h or d, e.g. 1m, 15m, 1h, 1d. */
const everyParam = z
  .string()
  .transform((text, ctx) => {
    const match = /^([1-9]\d{0,5})([smhd])$/.exec(text);
    const ms = match ? Number(match[1]) * UNITS[match[2] as keyof typeof UNITS] : Number.NaN;
    if (!(ms <= MAX_EVERY_MS)) {
      ctx.issues.push({ code: 'custom', input: text, message: 'must be a whole number of s, m, h or d (e.g. 1m, 15m, 1h, 1d), at most 366d' });
      return z.NEVER;
    }
    return ms;
  })
  .meta({
    description: 'The window: a whole number of s, m, h or d. Windows are aligned to the epoch (1d: UTC midnight)',
    examples: ['1m', '15m', '1h', '1d'],
  });

export const aggregateQuerySchema = z
  .strictObject({
    from: from.optional().meta({ description: 'Inclusive start; rounded down to a window boundary. Default: the first reading' }),
    to: to.optional().meta({ description: 'Exclusive end; rounded up to a window boundary. Default: now' }),
    every: everyParam,
    fn: z.enum(AGGREGATE_FUNCTIONS).default('mean').meta({ description: 'What each window holds per measurement (default mean)' }),
    measurements: measurementsParam,
    format: formatParam,
  })
  .refine(ordered, orderMessage);
export type AggregateQueryParams = z.infer<typeof aggregateQuerySchema>;

export const latestQuerySchema = z.strictObject({ measurements: measurementsParam, format: formatParam });
