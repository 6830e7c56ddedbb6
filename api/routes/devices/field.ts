import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { TestbedError } from '../../../core/index.js';
import { OPEN_DATA, changes } from '../../access.js';
import type { RouteOptions } from '../../deps.js';
import { NO_DEVICE, visibleDevice } from '../../lookups.js';
import { callerOf } from '../../plugins/auth.js';
import { deviceChangesSchema, deviceLocationsSchema, deviceParamsSchema, deviceViewSchema } from '../../schemas/devices.js';
import { errorResponses, json } from '../../schemas/responses.js';
import { deviceView } from './view.js';

const ms = (iso: string | null | undefined): number | null | undefined => (iso === undefined || iso === null ? iso : Date.parse(iso));

/** A device in the field: where it stands, how it is mounted, when it was installed and removed, and where it has stood. */
export const deviceFieldRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const { registry } = deps;

  app.patch(
    '/devices/:deviceId',
    {
      config: changes('admin', 'operator', 'company'),
      schema: {
        tags: ['devices'],
        summary: "Change a device's name, location, placement, installedAt or removedAt",
        description:
          'location is a GeoJSON Point in WGS84 ([lon, lat] or [lon, lat, alt]); null clears a field. Each location change closes ' +
          'the current stretch of the location history and opens the next (GET /v1/devices/{deviceId}/locations).',
        params: deviceParamsSchema,
        body: deviceChangesSchema,
        response: { 200: json('The device as changed', deviceViewSchema), ...errorResponses },
      },
    },
    async (request) => {
      const device = await visibleDevice(request, registry, request.params.deviceId);
      const { installedAt, removedAt, ...rest } = request.body;
      const changed = await registry.updateDevice(callerOf(request).scope, device.id, { ...rest, installedAt: ms(installedAt), removedAt: ms(removedAt) });
      if (!changed) throw new TestbedError('TESTBED_NOT_FOUND', NO_DEVICE);
      return deviceView(deps.sessions, changed);
    },
  );

  app.get(
    '/devices/:deviceId/locations',
    {
      config: OPEN_DATA,
      schema: {
        tags: ['devices'],
        summary: 'Where a device has stood: its location history, oldest first',
        description: 'Each stretch from `from` until `to` (null: still there). Researchers and anonymous readers see the pilot grid (locationPrecisionMeters).',
        params: deviceParamsSchema,
        response: { 200: json('The stretches, oldest first', deviceLocationsSchema), ...errorResponses },
      },
    },
    async (request) => {
      const device = await visibleDevice(request, registry, request.params.deviceId);
      const locations = await registry.listDeviceLocations(callerOf(request).scope, device.id);
      if (!locations) throw new TestbedError('TESTBED_NOT_FOUND', NO_DEVICE);
      return { locations };
    },
  );
};
