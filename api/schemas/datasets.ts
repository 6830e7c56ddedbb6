import { z } from 'zod';
import { licenceSchema, sharingSchema } from '../../core/index.js';
import { component } from './components.js';

const isoWithZone = z.iso.datetime({ offset: true }).meta({ example: '2025-05-01T00:00:00Z' });

export const datasetsQuerySchema = z.strictObject({
  testbedId: z.string().min(1).optional().meta({ description: 'Only pilots in this testbed' }),
  profile: z.string().min(1).optional().meta({ description: 'Only pilots with a device of this profile' }),
  measurement: z.string().min(1).optional().meta({ description: 'Only pilots whose devices measure this (a profile measurement name)' }),
  from: isoWithZone.optional().meta({ description: 'Only pilots with readings at or after this time' }),
  to: isoWithZone.optional().meta({ description: 'Only pilots with readings before this time' }),
  bbox: z.string().optional().meta({ description: 'minLon,minLat,maxLon,maxLat: only pilots with a device located in the box (as this caller sees it)' }),
});

export const datasetSchema = component(
  'Dataset',
  z.object({
    pilotId: z.string(),
    name: z.string(),
    testbedId: z.string(),
    sharingNow: sharingSchema,
    licence: licenceSchema.nullable(),
    attribution: z.string().nullable(),
    citation: z.string().nullable(),
    profiles: z.array(z.string()),
    measurements: z.array(z.string()),
    devices: z.number().int(),
    coverage: z
      .object({ from: isoWithZone, to: isoWithZone })
      .nullable()
      .meta({ description: 'The times of its first and newest readings; null when it has none' }),
    bbox: z
      .tuple([z.number(), z.number(), z.number(), z.number()])
      .nullable()
      .meta({ description: 'minLon, minLat, maxLon, maxLat of its located devices; null when none is located' }),
    download: z.string().meta({ description: 'The whole data set as one CSV (add from and to for a range): licence and attribution on its first line' }),
  }),
  'A pilot as a data set: what it measures, where and when, and under which licence',
);

export const datasetsResponseSchema = z.object({ datasets: z.array(datasetSchema) });
