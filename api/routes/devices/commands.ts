import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { TestbedError, commandEvent } from '../../../core/index.js';
import { commandParamProblems } from '../../../device-profiles/index.js';
import { changes, reads } from '../../access.js';
import type { RouteOptions } from '../../deps.js';
import { NO_DEVICE, visibleDevice } from '../../lookups.js';
import { callerOf, noteChanges } from '../../plugins/auth.js';
import { commandParamsPathSchema, commandResponseSchema, commandsQuerySchema, commandsResponseSchema, newCommandSchema } from '../../schemas/commands.js';
import { deviceParamsSchema } from '../../schemas/devices.js';
import { errorResponses, json } from '../../schemas/responses.js';

const NO_COMMAND = 'No command with this id for this device';

/** Commands to a device: sent by those who manage it, checked against its profile, delivered by the gateway. */
export const deviceCommandRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const { registry } = deps;
  const managers = ['admin', 'operator', 'company'] as const;

  app.post(
    '/devices/:deviceId/commands',
    {
      config: changes(...managers),
      schema: {
        tags: ['devices'],
        summary: 'Send a command to a device: checked against its profile, stored, and delivered at QoS 1 on devices/{deviceId}/commands',
        params: deviceParamsSchema,
        body: newCommandSchema,
        response: { 201: json('The command, queued', commandResponseSchema), ...errorResponses },
      },
    },
    async (request, reply) => {
      const device = await visibleDevice(request, registry, request.params.deviceId);
      const { name, params, ttlSeconds } = request.body;
      const definition = deps.profiles.get(device.profile)?.profile.commands.find((c) => c.name === name);
      if (!definition) {
        const known = deps.profiles.get(device.profile)?.profile.commands.map((c) => c.name) ?? [];
        throw new TestbedError('TESTBED_BAD_REQUEST', `The ${device.profile} profile has no command "${name}"; its commands: ${known.join(', ') || 'none'}`, [
          { in: 'body', field: 'name', message: `known commands: ${known.join(', ') || 'none'}` },
        ]);
      }
      const problems = commandParamProblems(definition, params);
      if (problems.length > 0) {
        throw new TestbedError(
          'TESTBED_BAD_REQUEST',
          `Invalid params: ${problems.map((p) => p.message).join('; ')}`,
          problems.map((p) => ({ in: 'body', field: `params.${p.param}`, message: p.message })),
        );
      }
      const command = await registry.sendCommand(callerOf(request), device.id, { name, params, ttlSeconds: ttlSeconds ?? definition.ttlSeconds });
      if (!command) throw new TestbedError('TESTBED_NOT_FOUND', NO_DEVICE);
      // Who sent what: the audit entry names the command and its parameters (a new command: from nothing).
      noteChanges(request, {
        commandId: { from: null, to: command.id },
        name: { from: null, to: command.name },
        params: { from: null, to: command.params },
        expiresAt: { from: null, to: command.expiresAt },
      });
      deps.events?.publish(commandEvent(command, Date.parse(command.createdAt)));
      return reply.code(201).send(command);
    },
  );

  app.get(
    '/devices/:deviceId/commands',
    {
      config: reads(...managers),
      schema: {
        tags: ['devices'],
        summary: "A device's commands, newest first, with their status and every transition's time",
        params: deviceParamsSchema,
        querystring: commandsQuerySchema,
        response: { 200: json('The commands', commandsResponseSchema), ...errorResponses },
      },
    },
    async (request) => {
      const device = await visibleDevice(request, registry, request.params.deviceId);
      return { commands: await registry.listCommands(callerOf(request).scope, device.id, request.query) };
    },
  );

  app.get(
    '/devices/:deviceId/commands/:commandId',
    {
      config: reads(...managers),
      schema: {
        tags: ['devices'],
        summary: 'One command: its status, every transition’s time, and the device’s answer',
        params: commandParamsPathSchema,
        response: { 200: json('The command', commandResponseSchema), ...errorResponses },
      },
    },
    async (request) => {
      const device = await visibleDevice(request, registry, request.params.deviceId);
      const command = await registry.getCommand(callerOf(request).scope, device.id, request.params.commandId);
      if (!command) throw new TestbedError('TESTBED_NOT_FOUND', NO_COMMAND);
      return command;
    },
  );
};
