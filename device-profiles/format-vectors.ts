import { z } from 'zod';
import { isErrorCode } from '../core/index.js';

/**
 * Test vectors: payloads a profile must turn into given readings, or reject
 * with given codes. `test/profiles.test.ts` runs every vector of every profile
 * through the real ingest pipeline, as if received at `receivedAt`.
 */

/** When a vector is received unless it says otherwise; its window is the gateway's default (600 s ahead, 365 days back). */
export const VECTOR_RECEIVED_AT = '2026-01-15T08:00:00.000Z';

const rejectionCode = z.string().refine((c) => c.startsWith('TESTBED_READING_') && isErrorCode(c), 'must be a TESTBED_READING_* code of the error catalogue');

const values = z.record(z.string(), z.number());
const isoTime = z.iso.datetime({ offset: true });

/** One reading a payload must become. */
export const expectedReadingSchema = z
  .object({
    values,
    /** Its time; default: the time of receipt. */
    time: isoTime.optional(),
    /** The measurements outside their plausible range; default none. */
    suspect: z.array(z.string()).optional(),
  })
  .strict();

export const testVectorSchema = z
  .object({
    name: z.string().min(1),
    /** The payload as JSON (sent as JSON.stringify gives it), as raw text, or as bytes in hex. */
    payload: z.unknown().optional(),
    payloadText: z.string().optional(),
    payloadHex: z
      .string()
      .regex(/^([0-9a-fA-F]{2})*$/, 'must be bytes in hex')
      .optional(),
    /** When the gateway receives it (ISO 8601); default VECTOR_RECEIVED_AT. */
    receivedAt: isoTime.optional(),
    /** Shorthand for one reading: its values, time and suspect measurements. */
    expect: values.optional(),
    expectTime: isoTime.optional(),
    expectSuspect: z.array(z.string()).optional(),
    /** The readings the payload must become, in order (several for a SenML pack). */
    expectReadings: z.array(expectedReadingSchema).min(1).optional(),
    /** With expect or expectReadings: the codes of the records that must be rejected beside them, in order. */
    expectRejections: z.array(rejectionCode).optional(),
    /** The one code the whole payload must be rejected with. */
    reject: rejectionCode.optional(),
  })
  .strict()
  .refine(
    (v) => [v.payload, v.payloadText, v.payloadHex].filter((p) => p !== undefined).length === 1,
    'give exactly one of payload, payloadText and payloadHex',
  )
  .refine((v) => [v.expect, v.expectReadings, v.reject].filter((p) => p !== undefined).length === 1, 'give exactly one of expect, expectReadings and reject')
  .refine((v) => v.expect !== undefined || (v.expectTime === undefined && v.expectSuspect === undefined), 'expectTime and expectSuspect go with expect')
  .refine((v) => v.reject === undefined || v.expectRejections === undefined, 'expectRejections goes with expect or expectReadings');

export type TestVector = z.infer<typeof testVectorSchema>;
export type ExpectedReading = z.infer<typeof expectedReadingSchema>;

/** The payload bytes of a vector. */
export function vectorPayload(v: TestVector): Buffer {
  if (v.payloadHex !== undefined) return Buffer.from(v.payloadHex, 'hex');
  return Buffer.from(v.payloadText ?? JSON.stringify(v.payload));
}

/** The readings a vector expects, with `expect` spelled out; undefined when it expects a rejection. */
export function expectedReadings(v: TestVector): ExpectedReading[] | undefined {
  if (v.expectReadings) return v.expectReadings;
  if (!v.expect) return undefined;
  return [{ values: v.expect, ...(v.expectTime ? { time: v.expectTime } : {}), ...(v.expectSuspect ? { suspect: v.expectSuspect } : {}) }];
}
