import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RouteOptions } from '../../deps.js';
import { visibleDevice } from '../../lookups.js';
import { callerOf } from '../../plugins/auth.js';
import { deviceParamsSchema, deviceResponseSchema } from '../../schemas/devices.js';
import { errorResponses, json } from '../../schemas/responses.js';

/** `GET /v1/devices/{deviceId}`. */
export const deviceRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.get(
    '/devices/:deviceId',
    {
      config: { access: 'key' },
      schema: {
        tags: ['devices'],
        summary: 'Read a device of the key\'s company',
        params: deviceParamsSchema,
        response: { 200: json('The device', deviceResponseSchema), ...errorResponses },
      },
    },
    async (request) => visibleDevice(deps.registry, callerOf(request).scope, request.params.deviceId),
  );
};
