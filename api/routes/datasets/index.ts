import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { TestbedError, inBbox, isoTime, parseBbox, type Caller, type Device, type Pilot } from '../../../core/index.js';
import { OPEN_DATA } from '../../access.js';
import type { RouteOptions } from '../../deps.js';
import { callerOf } from '../../plugins/auth.js';
import { measurementColumns } from '../../queries/columns.js';
import { timedRead } from '../../queries/read.js';
import { datasetsQuerySchema, datasetsResponseSchema } from '../../schemas/datasets.js';
import { errorResponses, json } from '../../schemas/responses.js';

const FAR_FUTURE = Date.parse('9999-01-01T00:00:00Z');

/** The bounding box of the located devices, or null. */
function boxOf(devices: readonly Device[]): [number, number, number, number] | null {
  const points = devices.flatMap((d) => (d.location ? [d.location.coordinates] : []));
  if (points.length === 0) return null;
  const lons = points.map((c) => c[0]);
  const lats = points.map((c) => c[1]);
  return [Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats)];
}

/** `GET /v1/datasets`: researchers (and anyone, for open data) find pilots by place, time, testbed and what is measured. */
export const datasetRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, options) => {
  const { deps } = options;
  const { registry } = deps;

  /** The pilots shared with research or open that the caller sees, and every open pilot besides: open data is everyone's. */
  const candidates = async (caller: Caller): Promise<{ pilot: Pilot; scope: Caller['scope'] }[]> => {
    const open = (await registry.anonymousCaller()).scope;
    const seen = new Map<string, { pilot: Pilot; scope: Caller['scope'] }>();
    for (const pilot of await registry.listPilots(caller.scope)) if (pilot.sharingNow !== 'private') seen.set(pilot.id, { pilot, scope: caller.scope });
    for (const pilot of await registry.listPilots(open)) if (!seen.has(pilot.id)) seen.set(pilot.id, { pilot, scope: open });
    return [...seen.values()];
  };

  app.get(
    '/datasets',
    {
      config: OPEN_DATA,
      schema: {
        tags: ['open data'],
        summary: 'Find data sets: the open pilots, and those shared with research that the key sees',
        description:
          'Filters combine with AND. A data set is one pilot; `download` is its readings as one CSV (all devices; add from and to ' +
          'for a range), opening with a `#` line of its licence and attribution.',
        querystring: datasetsQuerySchema,
        response: { 200: json('The data sets, oldest pilot first', datasetsResponseSchema), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      const bbox = q.bbox === undefined ? undefined : parseBbox(q.bbox);
      if (typeof bbox === 'string') throw new TestbedError('TESTBED_BAD_REQUEST', bbox, [{ in: 'querystring', field: 'bbox', message: bbox }]);
      const from = q.from === undefined ? undefined : Date.parse(q.from);
      const to = q.to === undefined ? undefined : Date.parse(q.to);
      const datasets = [];
      for (const { pilot, scope } of await candidates(callerOf(request))) {
        if (q.testbedId !== undefined && pilot.testbedId !== q.testbedId) continue;
        const devices = await registry.listDevices(scope, pilot.id);
        const profiles = [...new Set(devices.map((d) => d.profile))].sort();
        if (q.profile !== undefined && !profiles.includes(q.profile)) continue;
        const measurements = measurementColumns(deps.profiles, devices, undefined)
          .map((c) => c.name)
          .sort();
        if (q.measurement !== undefined && !measurements.includes(q.measurement)) continue;
        if (bbox !== undefined && !devices.some((d) => d.location !== null && inBbox(d.location, bbox))) continue;
        const coverage = await coverageOf(scope, pilot.id, devices);
        if (
          (from !== undefined || to !== undefined) &&
          (coverage === null || (to !== undefined && coverage.first >= to) || (from !== undefined && coverage.last < from))
        )
          continue;
        datasets.push({
          pilotId: pilot.id,
          name: pilot.name,
          testbedId: pilot.testbedId,
          sharingNow: pilot.sharingNow,
          licence: pilot.licence,
          attribution: pilot.attribution,
          citation: pilot.citation,
          profiles,
          measurements,
          devices: devices.length,
          coverage: coverage && { from: isoTime(coverage.first), to: isoTime(coverage.last) },
          bbox: boxOf(devices),
          download: `/v1/pilots/${pilot.id}/readings?format=csv`,
        });
      }
      return { datasets };
    },
  );

  /** The first and newest reading times of a pilot, from the store's time index: one row each way. */
  async function coverageOf(scope: Caller['scope'], pilotId: string, devices: readonly Device[]): Promise<{ first: number; last: number } | null> {
    if (devices.length === 0) return null;
    const [first] = await timedRead(options.limits, (deadline) =>
      deps.readings.queryRaw(scope, { select: { kind: 'pilot', pilotId }, from: 0, to: FAR_FUTURE, limit: 1, deadline }),
    );
    if (!first) return null;
    const latest = await timedRead(options.limits, () =>
      deps.readings.queryLatest(scope, { pilotId, deviceIds: devices.map((d) => d.id), measurements: undefined }),
    );
    return { first: first.time, last: Math.max(first.time, ...latest.map((r) => r.time)) };
  }
};
