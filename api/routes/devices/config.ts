import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { TestbedError } from '../../../core/index.js';
import { configProblems } from '../../../device-profiles/index.js';
import { changes, reads } from '../../access.js';
import type { RouteOptions } from '../../deps.js';
import { NO_DEVICE, visibleDevice } from '../../lookups.js';
import { callerOf, noteChanges } from '../../plugins/auth.js';
import { desiredConfigBodySchema, deviceConfigResponseSchema } from '../../schemas/device-config.js';
import { deviceParamsSchema } from '../../schemas/devices.js';
import { errorResponses, json } from '../../schemas/responses.js';

/** A device's desired and reported configuration: set by those who manage it, sent retained by the gateway. */
export const deviceConfigRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const { registry } = deps;
  const managers = ['admin', 'operator', 'company'] as const;

  app.put(
    '/devices/:deviceId/config/desired',
    {
      config: changes(...managers),
      schema: {
        tags: ['devices'],
        summary:
          "Replace a device's desired configuration: checked against its profile, versioned, and sent retained at QoS 1 on devices/{deviceId}/config/desired",
        params: deviceParamsSchema,
        body: desiredConfigBodySchema,
        response: { 200: json('The configuration, with the new desired version', deviceConfigResponseSchema), ...errorResponses },
      },
    },
    async (request) => {
      const device = await visibleDevice(request, registry, request.params.deviceId);
      const fields = deps.profiles.get(device.profile)?.profile.configuration ?? [];
      const problems = configProblems(fields, request.body);
      if (problems.length > 0) {
        throw new TestbedError(
          'TESTBED_BAD_REQUEST',
          `Invalid configuration: ${problems.map((p) => p.message).join('; ')}`,
          problems.map((p) => ({ in: 'body', field: p.param, message: p.message })),
        );
      }
      const before = (await registry.getDeviceConfig(callerOf(request).scope, device.id))?.desired ?? null;
      const config = await registry.setDesiredConfig(callerOf(request), device.id, request.body);
      if (!config?.desired) throw new TestbedError('TESTBED_NOT_FOUND', NO_DEVICE);
      // The audit entry keeps the whole document, old to new, and its version.
      noteChanges(request, {
        version: { from: before?.version ?? null, to: config.desired.version },
        config: { from: before?.config ?? null, to: config.desired.config },
      });
      deps.events?.publish({
        type: 'device.config.desired',
        at: Date.parse(config.desired.updatedAt),
        testbedId: device.testbedId,
        companyId: device.companyId,
        pilotId: device.pilotId,
        deviceId: device.id,
        data: { version: config.desired.version },
      });
      return config;
    },
  );

  app.get(
    '/devices/:deviceId/config',
    {
      config: reads(...managers),
      schema: {
        tags: ['devices'],
        summary: "A device's desired and reported configuration, the desired keys it has yet to apply (delta), and whether they agree",
        params: deviceParamsSchema,
        response: { 200: json('The configuration', deviceConfigResponseSchema), ...errorResponses },
      },
    },
    async (request) => {
      const device = await visibleDevice(request, registry, request.params.deviceId);
      const config = await registry.getDeviceConfig(callerOf(request).scope, device.id);
      if (!config) throw new TestbedError('TESTBED_NOT_FOUND', NO_DEVICE);
      return config;
    },
  );
};
