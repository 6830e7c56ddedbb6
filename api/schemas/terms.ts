import { z } from 'zod';
import { licenceSchema } from '../../core/index.js';

/**
 * The terms every JSON answer about an open pilot carries beside its data
 * (its pilot, devices, readings, aggregates, latest values, locations): the
 * licence, where to read it, who to credit and how to cite. Absent for a
 * pilot that is not open now. The answer's `Link: <url>; rel="license"`
 * header says the same.
 */
export const openDataTerms = {
  licence: licenceSchema.optional().meta({ description: "An open pilot's licence (SPDX id): the terms of the data in this answer" }),
  licenceUrl: z
    .string()
    .optional()
    .meta({ description: "The licence's page; absent for a LicenseRef-* licence", example: 'https://spdx.org/licenses/CC-BY-4.0.html' }),
  attribution: z.string().nullable().optional().meta({ description: 'Who to credit when using the data', example: 'City of Espoo, Acme Oy' }),
  citation: z.string().nullable().optional().meta({ description: 'How to cite the data, when the pilot gives one' }),
};

/** An answer schema with the open-data terms beside its data. */
export const withTerms = <T extends z.ZodObject>(schema: T) => schema.extend(openDataTerms);
