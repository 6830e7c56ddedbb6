import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { deviceTopic } from '../../../core/topics.js';
import type { RouteOptions } from '../../deps.js';
import { knownProfile, visiblePilot } from '../../lookups.js';
import { callerOf } from '../../plugins/auth.js';
import { createdDeviceSchema, newDeviceSchema } from '../../schemas/devices.js';
import { errorResponses, json } from '../../schemas/responses.js';
import { pilotParamsSchema } from '../../schemas/pilots.js';

/** `POST /v1/pilots/{pilotId}/devices`: the admin, or the pilot's own company, registers a device. */
export const pilotDeviceRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.post(
    '/pilots/:pilotId/devices',
    {
      config: { access: 'key' },
      schema: {
        tags: ['devices'],
        summary: 'Register a device in a pilot; answers its MQTT credentials once',
        params: pilotParamsSchema,
        body: newDeviceSchema,
        response: { 201: json('The new device and its MQTT credentials; the password is shown only now', createdDeviceSchema), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { scope } = callerOf(request);
      // Visibility first: another company's pilot answers 404 whatever the body says.
      const pilot = visiblePilot(deps.registry, scope, request.params.pilotId);
      knownProfile(deps.profiles, request.body.profile);
      const { device, password } = deps.registry.createDevice(scope, pilot.id, request.body);
      return reply.code(201).send({
        ...device,
        mqtt: { username: device.username, password, topic: deviceTopic(device.id, 'readings') },
      });
    },
  );
};
