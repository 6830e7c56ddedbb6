import { z } from 'zod';
import { apiKeySchema, companySchema } from '../../core/index.js';
import { component } from './components.js';

const label = z.string().trim().min(1).max(200);

export const companyResponseSchema = component('Company', companySchema, 'A company');

export const newCompanySchema = z.strictObject({ name: label });

export const companyParamsSchema = z.strictObject({ companyId: z.string().min(1) });

/** The body is optional: a request without one makes an unnamed key. */
export const newKeySchema = z.strictObject({ name: label.optional() }).nullish();

export const createdKeySchema = component(
  'CreatedApiKey',
  z.object({ key: z.string().meta({ description: 'The bearer key; shown once, stored only as a digest' }) }).extend(apiKeySchema.shape),
  'The new API key; `key` is shown only now',
);
