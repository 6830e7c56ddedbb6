import { z } from 'zod';
import { pilotSchema, sharingSchema } from '../../core/index.js';
import { component } from './components.js';

const isoWithZone = z.iso.datetime({ offset: true }).meta({ example: '2024-05-01T00:00:00Z' });
const later = (p: { startsAt?: string | null | undefined; endsAt?: string | null | undefined }) =>
  !p.startsAt || !p.endsAt || Date.parse(p.endsAt) > Date.parse(p.startsAt);

export const pilotResponseSchema = component('Pilot', pilotSchema, 'A pilot');

export const pilotsResponseSchema = z.object({ pilots: z.array(pilotResponseSchema) });

export const newPilotSchema = z
  .strictObject({
    companyId: z.string().min(1),
    testbedId: z.string().min(1).meta({ example: 'helsinki' }),
    name: z.string().trim().min(1).max(200),
    startsAt: isoWithZone.optional(),
    endsAt: isoWithZone.optional(),
    sharing: sharingSchema.optional().meta({ description: 'Default private' }),
  })
  .refine(later, { message: 'endsAt must be later than startsAt', path: ['endsAt'] });

export const pilotChangesSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    startsAt: isoWithZone.nullable().optional().meta({ description: 'null: no start (admin and operator keys only)' }),
    endsAt: isoWithZone.nullable().optional().meta({ description: 'null: open-ended (admin and operator keys only)' }),
    sharing: sharingSchema.optional(),
  })
  .refine((c) => Object.keys(c).length > 0, { message: 'give at least one of name, startsAt, endsAt, sharing' })
  .refine(later, { message: 'endsAt must be later than startsAt', path: ['endsAt'] });
export type PilotChangesBody = z.infer<typeof pilotChangesSchema>;

export const pilotsQuerySchema = z.strictObject({
  testbedId: z.string().min(1).optional().meta({ description: 'Only pilots in this testbed' }),
  companyId: z.string().min(1).optional().meta({ description: 'Only pilots of this company' }),
});

export const pilotParamsSchema = z.strictObject({ pilotId: z.string().min(1) });
