import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { isoTime } from '../../../core/index.js';
import { OPEN_DATA } from '../../access.js';
import type { RouteOptions } from '../../deps.js';
import { visiblePilot } from '../../lookups.js';
import { callerOf } from '../../plugins/auth.js';
import { measurementColumns } from '../../queries/columns.js';
import { flagOf, inOrder, sendExport, timesOf } from '../../queries/export.js';
import { answerAggregate } from '../../queries/aggregate.js';
import { answerRaw } from '../../queries/raw.js';
import { timedRead } from '../../queries/read.js';
import { aggregatesResponseSchema, latestResponseSchema, pilotReadingsPageSchema } from '../../schemas/history.js';
import { pilotParamsSchema } from '../../schemas/pilots.js';
import { aggregateQuerySchema, latestQuerySchema, rawQuerySchema } from '../../schemas/queries.js';
import { data, errorResponses } from '../../schemas/responses.js';
import { AGGREGATES, PAGING } from '../devices/history.js';

/** A pilot's readings across its devices: raw, aggregated, and the latest of each device. */
export const pilotReadingRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, options) => {
  const { deps } = options;
  const pilotAndDevices = async (request: Parameters<typeof callerOf>[0], pilotId: string) => {
    const caller = callerOf(request);
    const pilot = await visiblePilot(request, deps.registry, pilotId);
    return { caller, pilot, devices: await deps.registry.listDevices(caller.scope, pilot.id) };
  };

  app.get(
    '/pilots/:pilotId/readings',
    {
      config: OPEN_DATA,
      schema: {
        tags: ['readings'],
        summary: 'Read the readings of every device of a pilot, paged, or export them',
        description: `${PAGING} Rows are in (time, deviceId) order.`,
        params: pilotParamsSchema,
        querystring: rawQuerySchema,
        response: { 200: data('Readings, oldest first', pilotReadingsPageSchema), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { caller, pilot, devices } = await pilotAndDevices(request, request.params.pilotId);
      return answerRaw(options, caller, reply, { kind: 'pilot', pilotId: pilot.id }, devices, request.query);
    },
  );

  app.get(
    '/pilots/:pilotId/aggregates',
    {
      config: OPEN_DATA,
      schema: {
        tags: ['readings'],
        summary: 'Aggregate the readings of every device of a pilot over windows',
        description: AGGREGATES,
        params: pilotParamsSchema,
        querystring: aggregateQuerySchema,
        response: { 200: data('Windows, in (time, deviceId) order', aggregatesResponseSchema), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { caller, pilot, devices } = await pilotAndDevices(request, request.params.pilotId);
      return answerAggregate(options, caller, reply, { kind: 'pilot', pilotId: pilot.id }, devices, request.query);
    },
  );

  app.get(
    '/pilots/:pilotId/latest',
    {
      config: OPEN_DATA,
      schema: {
        tags: ['readings'],
        summary: 'The newest value of each measurement of every device of a pilot',
        description:
          'Per device, the newest value of each measurement, each from the newest reading that carries it: `times` gives each ' +
          "value's time, `time` the newest of them, `suspect` the measurements whose newest value was flagged. A reading that " +
          'carries only some measurements hides none of the others. With measurements, only those; a device with none of them is ' +
          'left out. As CSV, a row per device and distinct time.',
        params: pilotParamsSchema,
        querystring: latestQuerySchema,
        response: { 200: data('The newest values of each device that has any, by deviceId', latestResponseSchema), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { caller, pilot, devices } = await pilotAndDevices(request, request.params.pilotId);
      const { measurements, format } = request.query;
      const columns = measurementColumns(deps.profiles, devices, measurements);
      // The devices' measurements when none are chosen, so the store looks for no others.
      const wanted = measurements ?? (columns.length > 0 ? columns.map((c) => c.name) : undefined);
      const rows = await timedRead(options.limits, () =>
        deps.readings.queryLatest(caller.scope, { pilotId: pilot.id, deviceIds: devices.map((d) => d.id), measurements: wanted }),
      );
      if (format !== 'json') return sendExport(reply, format, 'latest', `${pilot.id}-latest`, columns, rows, (async function* () {})());
      return { latest: rows.map((r) => ({ deviceId: r.deviceId, time: isoTime(r.time), values: inOrder(r.values), times: timesOf(r), ...flagOf(r) })) };
    },
  );
};
