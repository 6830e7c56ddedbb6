import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { TestbedError, deviceTopic } from '../../../core/index.js';
import { OPEN_DATA, changes } from '../../access.js';
import type { RouteOptions } from '../../deps.js';
import { NO_DEVICE, visibleDevice } from '../../lookups.js';
import { callerOf } from '../../plugins/auth.js';
import { createdDeviceSchema, deviceParamsSchema, deviceResponseSchema } from '../../schemas/devices.js';
import { deviceDetailSchema } from '../../schemas/fleet.js';
import { errorResponses, json } from '../../schemas/responses.js';
import { deviceDetail } from './view.js';

/** A device: read with its connection status, its secret rotated, or revoked. */
export const deviceRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const { registry } = deps;

  app.get(
    '/devices/:deviceId',
    {
      config: OPEN_DATA,
      schema: {
        tags: ['devices'],
        summary: 'Read a device, with its profile, connection status and health',
        description:
          "health judges the device against its profile's reporting contract: status never (no reading yet), ok, late (no reading for " +
          'more than lateAfterIntervals x reportingIntervalSeconds, 2 by default) or silent (silentAfterIntervals, 6 by default); battery ' +
          'and signal where the profile declares them; rejected messages of the last hour by code. It is kept in the registry across restarts.',
        params: deviceParamsSchema,
        response: { 200: json('The device', deviceDetailSchema), ...errorResponses },
      },
    },
    async (request) => {
      const device = await visibleDevice(request, registry, request.params.deviceId);
      return deviceDetail(deps, device, await registry.getDeviceHealth(callerOf(request).scope, device.id));
    },
  );

  app.post(
    '/devices/:deviceId/rotate-secret',
    {
      config: changes('admin', 'operator', 'company'),
      schema: {
        tags: ['devices'],
        summary: 'Give a device a new MQTT password, shown once; the old one stops working and a connection made with it is closed',
        params: deviceParamsSchema,
        response: { 200: json('The device and its new MQTT credentials; the password is shown only now', createdDeviceSchema), ...errorResponses },
      },
    },
    async (request) => {
      const device = await visibleDevice(request, registry, request.params.deviceId);
      const rotated = await registry.rotateDevice(callerOf(request).scope, device.id);
      if (!rotated) throw new TestbedError('TESTBED_NOT_FOUND', NO_DEVICE);
      deps.sessions?.disconnect(device.id);
      return {
        ...rotated.device,
        mqtt: { url: deps.mqttUrl, username: device.username, password: rotated.password, topic: deviceTopic(device.id, 'readings') },
      };
    },
  );

  app.post(
    '/devices/:deviceId/revoke',
    {
      config: changes('admin', 'operator', 'company'),
      schema: {
        tags: ['devices'],
        summary: 'Revoke a device: it is disconnected and can never connect again; its data stays readable',
        params: deviceParamsSchema,
        response: { 200: json('The revoked device', deviceResponseSchema), ...errorResponses },
      },
    },
    async (request) => {
      const device = await visibleDevice(request, registry, request.params.deviceId);
      const revoked = await registry.revokeDevice(callerOf(request).scope, device.id);
      if (!revoked) throw new TestbedError('TESTBED_NOT_FOUND', NO_DEVICE);
      deps.sessions?.disconnect(device.id);
      return revoked;
    },
  );
};
