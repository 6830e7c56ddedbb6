import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { TestbedError } from '../../../core/index.js';
import { ANY_KEY } from '../../access.js';
import type { RouteOptions } from '../../deps.js';
import { DEFAULT_QUERY_LIMIT } from '../../limits.js';
import { visibleDevice } from '../../lookups.js';
import { callerOf } from '../../plugins/auth.js';
import { deviceParamsSchema } from '../../schemas/devices.js';
import { deviceEventsQuerySchema, deviceEventsResponseSchema, fleetQuerySchema, fleetResponseSchema } from '../../schemas/fleet.js';
import { errorResponses, json } from '../../schemas/responses.js';
import { deviceDetail } from './view.js';

/** `GET /v1/devices` (the fleet across everything the key sees) and `GET /v1/devices/{deviceId}/events`. */
export const fleetRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps, cursors }) => {
  const { registry } = deps;

  app.get(
    '/devices',
    {
      config: ANY_KEY,
      schema: {
        tags: ['devices'],
        summary: 'List every device the key sees, with its health (the fleet view)',
        description:
          'All testbeds of an operator, all pilots of a company. Filters: testbedId, pilotId, profile, status (a comma list), batteryLow, ' +
          'online. Newest reading first unless sort=lastReadingAt; follow next with cursor.',
        querystring: fleetQuerySchema,
        response: { 200: json('Devices with their health', fleetResponseSchema), ...errorResponses },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const { cursor, limit: asked, sort, ...filter } = request.query;
      const limit = asked ?? DEFAULT_QUERY_LIMIT;
      const query = JSON.stringify(['fleet', sort, filter]);
      const after = cursor === undefined ? undefined : cursors.decode(cursor, caller.keyId, query);
      const rows = await registry.listFleet(caller.scope, {
        ...filter,
        statuses: filter.status,
        order: sort === 'lastReadingAt' ? 'oldest' : 'newest',
        after: after && { lastReadingAt: after.time, deviceId: after.deviceId },
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      const devices = page.map((r) => deviceDetail(deps, r.device, r.health));
      if (rows.length <= limit || !last) return { devices };
      return { devices, next: cursors.encode(caller.keyId, query, { time: last.health.lastReadingAt ?? -1, deviceId: last.device.id }) };
    },
  );

  app.get(
    '/devices/:deviceId/events',
    {
      config: ANY_KEY,
      schema: {
        tags: ['devices'],
        summary: "A device's connection events and status changes, oldest first",
        description: 'connected; disconnected with its reason; status changes (from, to); wills the device left on its status topic.',
        params: deviceParamsSchema,
        querystring: deviceEventsQuerySchema,
        response: { 200: json('The events', deviceEventsResponseSchema), ...errorResponses },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const device = await visibleDevice(request, registry, request.params.deviceId);
      const { from, to, limit } = request.query;
      const events = await registry.listDeviceEvents(caller.scope, device.id, {
        from: from ?? 0,
        to: to ?? Number.MAX_SAFE_INTEGER,
        limit: limit ?? DEFAULT_QUERY_LIMIT,
      });
      if (!events) throw new TestbedError('TESTBED_INTERNAL', 'the device vanished while its events were read');
      return { events };
    },
  );
};
