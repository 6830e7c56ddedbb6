import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { TestbedError, type AuditDetail, type Caller, type Pilot } from '../../../core/index.js';
import type { PilotChanges } from '../../../registry/index.js';
import { OPEN_DATA, changes } from '../../access.js';
import type { RouteOptions } from '../../deps.js';
import { NO_PILOT, visiblePilot } from '../../lookups.js';
import { callerOf, noteChanges, noteTarget } from '../../plugins/auth.js';
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

/** Which fields a role may change: a company all but its pilot's dates; admins and operators everything. */
export function refusedChanges(caller: Caller, body: PilotChangesBody): string[] {
  if (caller.role !== 'company') return [];
  return (['startsAt', 'endsAt'] as const).filter((field) => body[field] !== undefined);
}

/** Pilots: a company's trial in a testbed, run by the testbed's operators. */
/** The fields a pilot change may touch, as the audit log names them. */
const AUDITED = [
  'name',
  'startsAt',
  'endsAt',
  'sharing',
  'openFrom',
  'embargoSharing',
  'licence',
  'attribution',
  'citation',
  'locationPrecisionMeters',
] as const;

/** What a change did to a pilot, for its audit entry: each field that changed, old value to new. */
export function changedFields(before: Pilot, after: Pilot): AuditDetail {
  const detail: AuditDetail = {};
  for (const field of AUDITED) if (before[field] !== after[field]) detail[field] = { from: before[field], to: after[field] };
  return detail;
}

/** What a new pilot was created with, for its audit entry: each field given a value, from null. */
export const createdFields = (pilot: Pilot): AuditDetail =>
  Object.fromEntries(AUDITED.filter((field) => pilot[field] !== null).map((field) => [field, { from: null, to: pilot[field] }]));

export const pilotRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const { registry } = deps;
  const disconnectDevices = async (caller: Caller, pilot: Pilot) => {
    for (const device of await registry.listDevices(caller.scope, pilot.id)) deps.sessions?.disconnect(device.id, 'pilot ended');
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
      const { startsAt, endsAt, openFrom, ...rest } = request.body;
      const pilot = await registry.createPilot(callerOf(request).scope, {
        ...rest,
        startsAt: epochMs(startsAt) ?? undefined,
        endsAt: epochMs(endsAt) ?? undefined,
        openFrom: epochMs(openFrom) ?? undefined,
      });
      noteTarget(request, { companyId: pilot.companyId, testbedId: pilot.testbedId, pilotId: pilot.id });
      noteChanges(request, createdFields(pilot));
      return reply.code(201).send(pilot);
    },
  );

  app.get(
    '/pilots',
    {
      config: OPEN_DATA,
      schema: {
        tags: ['pilots'],
        summary: 'List the pilots the key may see, oldest first (without a key: the open pilots)',
        querystring: pilotsQuerySchema,
        response: { 200: json('The pilots', pilotsResponseSchema), ...errorResponses },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      // Open data is everyone's: with sharing=open any caller lists what an anonymous one would.
      const scope = request.query.sharing === 'open' ? (await registry.anonymousCaller()).scope : caller.scope;
      const pilots = await registry.listPilots(scope, request.query);
      const withProfiles = [];
      for (const p of pilots) withProfiles.push({ ...p, profiles: [...new Set((await registry.listDevices(scope, p.id)).map((d) => d.profile))].sort() });
      return { pilots: withProfiles };
    },
  );

  app.get(
    '/pilots/:pilotId',
    {
      config: OPEN_DATA,
      schema: {
        tags: ['pilots'],
        summary: 'Read a pilot',
        params: pilotParamsSchema,
        response: { 200: json('The pilot', pilotResponseSchema), ...errorResponses },
      },
    },
    async (request) => await visiblePilot(request, registry, request.params.pilotId),
  );

  app.patch(
    '/pilots/:pilotId',
    {
      config: changes('admin', 'operator', 'company'),
      schema: {
        tags: ['pilots'],
        summary: 'Change a pilot: its name, dates, sharing and open-data terms (a company key: all but the dates)',
        description:
          'sharing, openFrom, embargoSharing, licence, attribution, citation and locationPrecisionMeters are changed by the ' +
          "pilot's company, the admin or the testbed's operators; each change is in the audit log. retentionDays: readings older than " +
          "that are deleted by the daily retention sweep (null: the testbed's default).",
        params: pilotParamsSchema,
        body: pilotChangesSchema,
        response: { 200: json('The pilot as changed', pilotResponseSchema), ...errorResponses },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const pilot = await visiblePilot(request, registry, request.params.pilotId);
      const refused = refusedChanges(caller, request.body);
      if (refused.length > 0)
        throw new TestbedError('TESTBED_FORBIDDEN', `A company key may change all but the dates; ask the testbed operator to change ${refused.join(' and ')}`);
      const { startsAt, endsAt, openFrom, ...rest } = request.body;
      const changesWanted: PilotChanges = { ...rest, startsAt: epochMs(startsAt), endsAt: epochMs(endsAt), openFrom: epochMs(openFrom) };
      const updated = await registry.updatePilot(caller.scope, pilot.id, changesWanted);
      if (!updated) throw new TestbedError('TESTBED_NOT_FOUND', NO_PILOT);
      noteChanges(request, changedFields(pilot, updated));
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
      const pilot = await visiblePilot(request, registry, request.params.pilotId);
      const ended = await registry.endPilot(caller.scope, pilot.id);
      if (!ended) throw new TestbedError('TESTBED_NOT_FOUND', NO_PILOT);
      await disconnectDevices(caller, ended);
      return ended;
    },
  );
};
