import { z } from 'zod';
import { embargoSharingSchema, licenceSchema, pilotSchema, sharingSchema } from '../../core/index.js';
import { component } from './components.js';
import { openDataTerms } from './terms.js';

const isoWithZone = z.iso.datetime({ offset: true }).meta({ example: '2024-05-01T00:00:00Z' });
const later = (p: { startsAt?: string | null | undefined; endsAt?: string | null | undefined }) =>
  !p.startsAt || !p.endsAt || Date.parse(p.endsAt) > Date.parse(p.startsAt);

export const pilotResponseSchema = component(
  'Pilot',
  pilotSchema.extend({ licenceUrl: openDataTerms.licenceUrl }),
  'A pilot; an open one read also with its licenceUrl',
);

export const pilotListEntrySchema = component(
  'PilotListEntry',
  pilotSchema.extend({ profiles: z.array(z.string()).meta({ description: 'The device profiles of its devices, sorted' }) }),
  'A pilot in a listing, with the profiles of its devices',
);
export const pilotsResponseSchema = z.object({ pilots: z.array(pilotListEntrySchema) });

/** The open-data fields a pilot is created or changed with; who may change them is the route's policy. */
const openDataFields = {
  openFrom: isoWithZone.meta({ description: 'An embargo: an open pilot is embargoSharing until then, open from then' }),
  embargoSharing: embargoSharingSchema.meta({ description: 'What an open pilot is until openFrom; default private' }),
  licence: licenceSchema.meta({ description: 'SPDX licence id; an open pilot without one gets CC-BY-4.0' }),
  attribution: z.string().trim().min(1).max(500).meta({ example: 'City of Espoo, Acme Oy' }),
  citation: z.string().trim().min(1).max(1000),
  locationPrecisionMeters: z
    .number()
    .positive()
    .max(100_000)
    .meta({ description: 'Publish device locations to researchers and anonymous readers on a grid of this many metres' }),
};

/** How long readings are kept, in days: older ones are deleted by the daily retention sweep. */
export const retentionDaysSchema = z
  .number()
  .int()
  .positive()
  .max(36_500)
  .meta({ description: 'Readings older than this many days are deleted by the daily retention sweep (in the audit log)' });

export const newPilotSchema = z
  .strictObject({
    companyId: z.string().min(1),
    testbedId: z.string().min(1).meta({ example: 'helsinki' }),
    name: z.string().trim().min(1).max(200),
    startsAt: isoWithZone.optional(),
    endsAt: isoWithZone.optional(),
    sharing: sharingSchema.optional().meta({ description: 'Default private' }),
    openFrom: openDataFields.openFrom.optional(),
    embargoSharing: openDataFields.embargoSharing.optional(),
    licence: openDataFields.licence.optional(),
    attribution: openDataFields.attribution.optional(),
    citation: openDataFields.citation.optional(),
    locationPrecisionMeters: openDataFields.locationPrecisionMeters.optional(),
    retentionDays: retentionDaysSchema.optional(),
  })
  .refine(later, { message: 'endsAt must be later than startsAt', path: ['endsAt'] });

export const pilotChangesSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    startsAt: isoWithZone.nullable().optional().meta({ description: 'null: no start (admin and operator keys only)' }),
    endsAt: isoWithZone.nullable().optional().meta({ description: 'null: open-ended (admin and operator keys only)' }),
    sharing: sharingSchema.optional(),
    openFrom: openDataFields.openFrom.nullable().optional().meta({ description: 'null: no embargo' }),
    embargoSharing: openDataFields.embargoSharing.optional(),
    licence: openDataFields.licence.nullable().optional().meta({ description: 'null: none (refused for an open pilot)' }),
    attribution: openDataFields.attribution.nullable().optional(),
    citation: openDataFields.citation.nullable().optional(),
    locationPrecisionMeters: openDataFields.locationPrecisionMeters.nullable().optional().meta({ description: 'null: exact locations' }),
    retentionDays: retentionDaysSchema.nullable().optional().meta({ description: "null: the testbed's default" }),
  })
  .refine((c) => Object.keys(c).length > 0, { message: 'give at least one field to change' })
  .refine(later, { message: 'endsAt must be later than startsAt', path: ['endsAt'] });
export type PilotChangesBody = z.infer<typeof pilotChangesSchema>;

export const pilotsQuerySchema = z.strictObject({
  testbedId: z.string().min(1).optional().meta({ description: 'Only pilots in this testbed' }),
  companyId: z.string().min(1).optional().meta({ description: 'Only pilots of this company' }),
  sharing: sharingSchema
    .optional()
    .meta({ description: 'Only pilots with this tier in force now. sharing=open lists every open pilot of every testbed, to any key and without one' }),
});

export const pilotParamsSchema = z.strictObject({ pilotId: z.string().min(1) });
