import { z } from 'zod';
import { component } from './components.js';
import { withTerms } from './terms.js';

/** Times in responses: ISO 8601 in UTC with milliseconds, e.g. 2024-05-01T12:00:00.000Z. */
const utcTime = z.iso.datetime();

export const readingSchema = component(
  'Reading',
  z.object({
    time: utcTime,
    values: z.record(z.string(), z.number()).meta({ description: "Measurement name -> value in the profile's canonical unit" }),
    suspect: z
      .array(z.string())
      .optional()
      .meta({
        description: 'The quality flag, only when raised: the measurements whose value is outside its plausible range (inside the physical one)',
        example: ['pm10'],
      }),
    stuck: z
      .array(z.string())
      .optional()
      .meta({
        description:
          "Only when raised: the measurements whose value has been the same for the profile's `health.stuckAfter` readings in a row, this one included (a frozen sensor)",
        example: ['temperature'],
      }),
    gap: z
      .literal(true)
      .optional()
      .meta({ description: "Only when raised: the reading follows a silence longer than the profile's silent threshold (a hole in the series before it)" }),
  }),
  "A device's values at one instant",
);

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

const nextCursor = z.string().optional().meta({ description: 'Present while more rows remain: repeat the request with cursor=<next>' });

/** A device's readings page. */
export const deviceReadingsPageSchema = withTerms(z.object({ readings: z.array(readingSchema), next: nextCursor }));

export const deviceReadingSchema = component(
  'DeviceReading',
  z.object({ deviceId: z.string() }).extend(readingSchema.shape),
  'A reading with the device it came from',
);

/** A pilot's readings page: every device's, in (time, deviceId) order. */
export const pilotReadingsPageSchema = withTerms(z.object({ readings: z.array(deviceReadingSchema), next: nextCursor }));

export const aggregatesResponseSchema = withTerms(
  z.object({
    every: z.string().meta({ example: '15m' }),
    fn: z.string().meta({ example: 'mean' }),
    aggregates: z
      .array(
        component(
          'Aggregate',
          z.object({ deviceId: z.string(), time: utcTime.meta({ description: "The window's start" }), values: readingSchema.shape.values }),
          "One device's window",
        ),
      )
      .meta({ description: 'In (time, deviceId) order; windows without readings are left out' }),
  }),
);

export const latestValuesSchema = component(
  'LatestValues',
  deviceReadingSchema.extend({
    time: utcTime.meta({ description: 'The newest of `times`' }),
    values: readingSchema.shape.values.meta({ description: 'The newest value of each measurement, in its canonical unit' }),
    times: z.record(z.string(), utcTime).meta({ description: 'Measurement name -> the time of the reading its value came from' }),
  }),
  "A device's newest value of each measurement, each with its own time",
);

export const latestResponseSchema = withTerms(
  z.object({
    latest: z.array(latestValuesSchema).meta({ description: 'The newest values of each device that has any, by deviceId' }),
  }),
);
