import { z } from 'zod';
import { auditEntrySchema } from '../../core/index.js';
import { MAX_QUERY_LIMIT } from '../limits.js';
import { component } from './components.js';
import { cursorParam, limitParam } from './queries.js';
import { instant } from './time-range.js';

export const auditQuerySchema = z.strictObject({
  from: instant('Inclusive start: ISO 8601 with a zone, or epoch milliseconds').optional(),
  to: instant('Exclusive end: ISO 8601 with a zone, or epoch milliseconds').optional(),
  limit: limitParam,
  cursor: cursorParam,
});

export const auditResponseSchema = z.object({
  entries: z.array(component('AuditEntry', auditEntrySchema, "Which key read or changed what, when, and the answer's status")),
  next: z
    .string()
    .optional()
    .meta({ description: `Present while more entries remain: repeat the request with cursor=<next> (at most ${MAX_QUERY_LIMIT} a page)` }),
});
