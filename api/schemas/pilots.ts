import { z } from 'zod';
import { pilotSchema } from '../../core/model.js';
import { component } from './components.js';

const isoWithZone = z.iso.datetime({ offset: true }).meta({ example: '2024-05-01T00:00:00Z' });

export const pilotResponseSchema = component('Pilot', pilotSchema, 'A pilot');

export const newPilotSchema = z
  .strictObject({
    companyId: z.string().min(1),
    testbedId: z.string().min(1).meta({ example: 'helsinki' }),
    name: z.string().trim().min(1).max(200),
    startsAt: isoWithZone.optional(),
    endsAt: isoWithZone.optional(),
  })
  .refine((p) => p.startsAt === undefined || p.endsAt === undefined || Date.parse(p.endsAt) > Date.parse(p.startsAt), {
    message: 'endsAt must be later than startsAt',
    path: ['endsAt'],
  });

export const pilotParamsSchema = z.strictObject({ pilotId: z.string().min(1) });
