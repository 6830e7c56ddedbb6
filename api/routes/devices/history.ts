import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RouteOptions } from '../../deps.js';
import { MAX_QUERY_LIMIT } from '../../limits.js';
import { visibleDevice } from '../../lookups.js';
import { callerOf } from '../../plugins/auth.js';
import { deviceParamsSchema } from '../../schemas/devices.js';
import { errorResponses, json } from '../../schemas/responses.js';
import { readingsResponseSchema, rejectionsResponseSchema } from '../../schemas/history.js';
import { timeRangeQuerySchema } from '../../schemas/time-range.js';
import { readStore } from '../../store-read.js';

const iso = (ms: number): string => new Date(ms).toISOString();

const paging =
  `Oldest first. from is inclusive, to exclusive; each is ISO 8601 with a zone or epoch milliseconds. ` +
  `At most ${MAX_QUERY_LIMIT} rows per request: to read more, repeat with from set to 1 ms after the last time returned.`;

/** A device's stored readings and its rejected payloads, over a time range. */
export const deviceHistoryRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.get(
    '/devices/:deviceId/readings',
    {
      config: { access: 'key' },
      schema: {
        tags: ['readings'],
        summary: 'Read a device\'s readings',
        description: paging,
        params: deviceParamsSchema,
        querystring: timeRangeQuerySchema,
        response: { 200: json('Readings, oldest first', readingsResponseSchema), ...errorResponses },
      },
    },
    async (request) => {
      const { scope } = callerOf(request);
      const device = visibleDevice(deps.registry, scope, request.params.deviceId);
      const rows = await readStore(() => deps.readings.queryReadings(scope, { deviceId: device.id, ...request.query }));
      return { readings: rows.map((r) => ({ time: iso(r.time), values: r.values })) };
    },
  );

  app.get(
    '/devices/:deviceId/rejections',
    {
      config: { access: 'key' },
      schema: {
        tags: ['readings'],
        summary: 'Read the payloads of a device that were rejected, with why',
        description: paging,
        params: deviceParamsSchema,
        querystring: timeRangeQuerySchema,
        response: { 200: json('Rejections, oldest first', rejectionsResponseSchema), ...errorResponses },
      },
    },
    async (request) => {
      const { scope } = callerOf(request);
      const device = visibleDevice(deps.registry, scope, request.params.deviceId);
      const rows = await readStore(() => deps.rejections.queryRejections(scope, { deviceId: device.id, ...request.query }));
      return { rejections: rows.map((r) => ({ ...r, time: iso(r.time) })) };
    },
  );
};
