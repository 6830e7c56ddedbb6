import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { reads } from '../../access.js';
import type { RouteOptions } from '../../deps.js';
import { DEFAULT_QUERY_LIMIT, MAX_QUERY_LIMIT } from '../../limits.js';
import { callerOf } from '../../plugins/auth.js';
import { auditQuerySchema, auditResponseSchema } from '../../schemas/audit.js';
import { errorResponses, json } from '../../schemas/responses.js';

/** `GET /v1/audit`: the access audit log, for admins and the operators of each testbed. */
export const auditRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps, cursors }) => {
  app.get(
    '/audit',
    {
      config: reads('admin', 'operator'),
      schema: {
        tags: ['audit'],
        summary: 'Read the access audit log: which key read or changed what, when',
        description:
          'Every request made with a key, oldest first: its key, role, route, status and the object it reached. An operator sees the ' +
          `entries of objects in its testbeds; the admin sees all. At most ${MAX_QUERY_LIMIT} a page; follow next with cursor.`,
        querystring: auditQuerySchema,
        response: { 200: json('Audit entries, oldest first', auditResponseSchema), ...errorResponses },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const { from, to, cursor } = request.query;
      const limit = request.query.limit ?? DEFAULT_QUERY_LIMIT;
      const query = JSON.stringify(['audit', from ?? null, to ?? null]);
      const afterId = cursor === undefined ? 0 : cursors.decode(cursor, caller.keyId, query).time;
      const rows = await deps.registry.listAudit(caller.scope, { from: from ?? 0, to: to ?? Number.MAX_SAFE_INTEGER, afterId, limit: limit + 1 });
      const entries = rows.slice(0, limit);
      const last = entries.at(-1);
      return rows.length > limit && last ? { entries, next: cursors.encode(caller.keyId, query, { time: last.id, deviceId: '' }) } : { entries };
    },
  );
};
