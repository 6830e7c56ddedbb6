import { isoTime } from '../../../core/index.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { OPEN_DATA, reads } from '../../access.js';
import type { RouteOptions } from '../../deps.js';
import { MAX_QUERY_LIMIT } from '../../limits.js';
import { visibleDevice } from '../../lookups.js';
import { callerOf } from '../../plugins/auth.js';
import { answerAggregate } from '../../queries/aggregate.js';
import { answerRaw } from '../../queries/raw.js';
import { deviceParamsSchema } from '../../schemas/devices.js';
import { aggregatesResponseSchema, deviceReadingsPageSchema, rejectionsResponseSchema } from '../../schemas/history.js';
import { aggregateQuerySchema, rawQuerySchema } from '../../schemas/queries.js';
import { data, errorResponses, json } from '../../schemas/responses.js';
import { timeRangeQuerySchema } from '../../schemas/time-range.js';
import { readStore } from '../../store-read.js';

export const PAGING =
  `Oldest first. from is inclusive, to exclusive; each is ISO 8601 with a zone or epoch milliseconds. A page holds at most ${MAX_QUERY_LIMIT} ` +
  'rows; while more remain the answer has `next`: repeat the request with cursor=<next>. With format=csv or format=ndjson the whole range ' +
  'is streamed instead.';

export const AGGREGATES =
  'Per device and measurement, fn over each window of `every`. Windows are aligned to the epoch (1d windows start at UTC midnight), a ' +
  "window's time is its start, and windows without readings are left out. from is rounded down and to up to whole windows.";

/** A device's readings (raw and aggregated) and its rejected payloads. */
export const deviceHistoryRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, options) => {
  const { deps } = options;

  app.get(
    '/devices/:deviceId/readings',
    {
      config: OPEN_DATA,
      schema: {
        tags: ['readings'],
        summary: "Read a device's readings, paged, or export them",
        description: PAGING,
        params: deviceParamsSchema,
        querystring: rawQuerySchema,
        response: { 200: data('Readings, oldest first', deviceReadingsPageSchema), ...errorResponses },
      },
    },
    async (request, reply) => {
      const device = await visibleDevice(request, deps.registry, request.params.deviceId);
      return answerRaw(options, callerOf(request), reply, { kind: 'device', deviceId: device.id }, [device], request.query);
    },
  );

  app.get(
    '/devices/:deviceId/aggregates',
    {
      config: OPEN_DATA,
      schema: {
        tags: ['readings'],
        summary: "Aggregate a device's readings over windows (mean, min, max, sum, count, first, last)",
        description: AGGREGATES,
        params: deviceParamsSchema,
        querystring: aggregateQuerySchema,
        response: { 200: data('Windows, oldest first', aggregatesResponseSchema), ...errorResponses },
      },
    },
    async (request, reply) => {
      const device = await visibleDevice(request, deps.registry, request.params.deviceId);
      return answerAggregate(options, callerOf(request), reply, { kind: 'device', deviceId: device.id }, [device], request.query);
    },
  );

  app.get(
    '/devices/:deviceId/rejections',
    {
      config: reads('admin', 'operator', 'company'),
      schema: {
        tags: ['readings'],
        summary: 'Read the payloads of a device that were rejected, with why',
        description: `Oldest first. from is inclusive, to exclusive. At most ${MAX_QUERY_LIMIT} rows per request: to read more, repeat with from set to 1 ms after the last time returned.`,
        params: deviceParamsSchema,
        querystring: timeRangeQuerySchema,
        response: { 200: json('Rejections, oldest first', rejectionsResponseSchema), ...errorResponses },
      },
    },
    async (request) => {
      const { scope } = callerOf(request);
      const device = await visibleDevice(request, deps.registry, request.params.deviceId);
      const rows = await readStore(() => deps.rejections.queryRejections(scope, { deviceId: device.id, ...request.query }));
      return { rejections: rows.map((r) => ({ ...r, time: isoTime(r.time) })) };
    },
  );
};
