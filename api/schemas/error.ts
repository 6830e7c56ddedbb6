import { z } from 'zod';
import { ErrorCodes, type ErrorCode } from '../../core/index.js';
import { component } from './components.js';

const codes = Object.keys(ErrorCodes) as [ErrorCode, ...ErrorCode[]];

/** One field problem in `details` of an invalid request. */
export const fieldProblemSchema = z.object({
  in: z.enum(['body', 'querystring', 'params', 'headers']).meta({ description: 'Which part of the request' }),
  field: z.string().optional().meta({ description: 'Dotted path of the field; absent when the part as a whole is wrong', example: 'limit' }),
  message: z.string(),
});
export type FieldProblem = z.infer<typeof fieldProblemSchema>;

/** The one error body every failed request gets. */
export const errorBodySchema = component(
  'Error',
  z.object({
    error: z.object({
      code: z.enum(codes).meta({ description: 'A stable code from the error catalogue', example: 'TESTBED_NOT_FOUND' }),
      message: z.string().meta({ description: 'What went wrong and what to do about it' }),
      details: z
        .union([z.array(fieldProblemSchema), z.record(z.string(), z.unknown())])
        .optional()
        .meta({ description: 'Specifics: each field problem of an invalid request, or facts such as the known profiles' }),
    }),
  }),
  'Failed: the error code says why, the message what to do',
);
export type ErrorBody = z.infer<typeof errorBodySchema>;
