import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { TestbedError, type Caller, type Pilot } from '../../../core/index.js';
import type { PilotChanges } from '../../../registry/index.js';
import { ANY_KEY, changes } from '../../access.js';
import type { RouteOptions } from '../../deps.js';
import { NO_PILOT, visiblePilot } from '../../lookups.js';
import { callerOf, noteTarget } from '../../plugins/auth.js';
import { errorResponses, json } from '../../schemas/responses.js';
import {
  newPilotSchema,
  pilotChangesSchema,
  pilotParamsSchema,
  pilotResponseSchema,
  pilotsQuerySchema,
  pilotsResponseSchema,
  type PilotChangesBody,
} from '../../schemas/pilots.js';

const epochMs = (iso: string | null | undefined): number | null | undefined => (iso === undefined || iso === null ? iso : Date.parse(iso));

/** Which fields a role may change: a company its pilot's name and sharing; admins and operators everything. */
export function refusedChanges(caller: Caller, body: PilotChangesBody): string[] {
  if (caller.role !== 'company') return [];
  return (['startsAt', 'endsAt'] as const).filter((field) => body[field] !== undefined);
}

/** Pilots: a company's trial in a testbed, run by the testbed's operators. */
export const pilotRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const { registry } = deps;
  const disconnectDevices = (caller: Caller, pilot: Pilot) => {
    for (const device of registry.listDevices(caller.scope, pilot.id)) deps.sessions?.disconnect(device.id, 'pilot ended');
  };

  app.post(
    '/pilots',
    {
      config: changes('admin', 'operator'),
      schema: {
        tags: ['pilots'],
        summary: 'Start a pilot of a company in a testbed (an operator: in its own testbeds)',
        description: 'startsAt and endsAt are ISO 8601 with a zone; the gateway accepts readings only between them.',
        body: newPilotSchema,
        response: { 201: json('The new pilot', pilotResponseSchema), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { startsAt, endsAt, ...rest } = request.body;
      const pilot = registry.createPilot(callerOf(request).scope, { ...rest, startsAt: epochMs(startsAt) ?? undefined, endsAt: epochMs(endsAt) ?? undefined });
      noteTarget(request, { companyId: pilot.companyId, testbedId: pilot.testbedId, pilotId: pilot.id });
      return reply.code(201).send(pilot);
    },
  );

  app.get(
    '/pilots',
    {
      config: ANY_KEY,
      schema: {
        tags: ['pilots'],
        summary: 'List the pilots the key may see, oldest first',
        querystring: pilotsQuerySchema,
        response: { 200: json('The pilots', pilotsResponseSchema), ...errorResponses },
      },
    },
    async (request) => ({ pilots: registry.listPilots(callerOf(request).scope, request.query) }),
  );

  app.get(
    '/pilots/:pilotId',
    {
      config: ANY_KEY,
      schema: {
        tags: ['pilots'],
        summary: 'Read a pilot',
        params: pilotParamsSchema,
        response: { 200: json('The pilot', pilotResponseSchema), ...errorResponses },
      },
    },
    async (request) => visiblePilot(request, registry, request.params.pilotId),
  );

  app.patch(
    '/pilots/:pilotId',
    {
      config: changes('admin', 'operator', 'company'),
      schema: {
        tags: ['pilots'],
        summary: 'Change a pilot: its name, dates or sharing (a company key: name and sharing only)',
        params: pilotParamsSchema,
        body: pilotChangesSchema,
        response: { 200: json('The pilot as changed', pilotResponseSchema), ...errorResponses },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const pilot = visiblePilot(request, registry, request.params.pilotId);
      const refused = refusedChanges(caller, request.body);
      if (refused.length > 0)
        throw new TestbedError(
          'TESTBED_FORBIDDEN',
          `A company key may change only name and sharing; ask the testbed operator to change ${refused.join(' and ')}`,
        );
      const body = request.body;
      const changesWanted: PilotChanges = { name: body.name, sharing: body.sharing, startsAt: epochMs(body.startsAt), endsAt: epochMs(body.endsAt) };
      const updated = registry.updatePilot(caller.scope, pilot.id, changesWanted);
      if (!updated) throw new TestbedError('TESTBED_NOT_FOUND', NO_PILOT);
      return updated;
    },
  );

  app.post(
    '/pilots/:pilotId/end',
    {
      config: changes('admin', 'operator', 'company'),
      schema: {
        tags: ['pilots'],
        summary: 'End a pilot now: its devices are disconnected and can no longer connect; its data stays readable',
        params: pilotParamsSchema,
        response: { 200: json('The ended pilot', pilotResponseSchema), ...errorResponses },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const pilot = visiblePilot(request, registry, request.params.pilotId);
      const ended = registry.endPilot(caller.scope, pilot.id);
      if (!ended) throw new TestbedError('TESTBED_NOT_FOUND', NO_PILOT);
      disconnectDevices(caller, ended);
      return ended;
    },
  );
};
