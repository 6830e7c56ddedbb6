import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { TestbedError, type Device, deviceTopic, parseBbox } from '../../../core/index.js';
import type { NewDevice } from '../../../registry/index.js';
import { OPEN_DATA, changes } from '../../access.js';
import { type CsvError, parseCsv } from '../../csv.js';
import type { RouteOptions } from '../../deps.js';
import { BODY_LIMIT_BYTES } from '../../limits.js';
import { knownProfile, unknownProfileMessage, visiblePilot } from '../../lookups.js';
import { callerOf } from '../../plugins/auth.js';
import {
  bulkDevicesSchema,
  createdDeviceSchema,
  createdDevicesSchema,
  devicesQuerySchema,
  devicesResponseSchema,
  newDeviceSchema,
  type NewDeviceBody,
} from '../../schemas/devices.js';
import { errorResponses, json } from '../../schemas/responses.js';
import { pilotParamsSchema } from '../../schemas/pilots.js';
import type { FieldProblem } from '../../schemas/error.js';
import { deviceView } from '../devices/view.js';

const CSV_COLUMNS = ['profile', 'name', 'username', 'lon', 'lat', 'alt', 'placement', 'installedAt', 'removedAt'] as const;

const ms = (iso: string | null | undefined): number | null | undefined => (iso === undefined || iso === null ? iso : Date.parse(iso));

/** A device body as the registry takes it: times as epoch ms. */
export function newDeviceOf(body: NewDeviceBody): NewDevice {
  return { ...body, installedAt: ms(body.installedAt) ?? undefined, removedAt: ms(body.removedAt) ?? undefined };
}

/** A CSV row's lon, lat and alt cells as the GeoJSON location the JSON body has; a cell that is not a number is left for validation to name. */
function locationCells(row: Record<string, string>): Record<string, unknown> {
  const { lon, lat, alt, ...rest } = row;
  if (lon === undefined && lat === undefined && alt === undefined) return rest;
  const num = (cell: string | undefined) => (cell === undefined || cell.trim() === '' || !Number.isFinite(Number(cell)) ? cell : Number(cell));
  const coordinates = alt === undefined ? [num(lon), num(lat)] : [num(lon), num(lat), num(alt)];
  return { ...rest, location: { type: 'Point', coordinates } };
}

/**
 * A CSV body of devices as the JSON body it stands for: a header row, then one
 * device a row; empty cells are absent fields. Comma- or semicolon-separated.
 */
export function devicesFromCsv(text: string): { devices: Record<string, unknown>[] } {
  let parsed: ReturnType<typeof parseCsv>;
  try {
    parsed = parseCsv(text);
  } catch (err) {
    throw new TestbedError('TESTBED_BAD_REQUEST', (err as CsvError).message);
  }
  const [header, ...rows] = parsed.records;
  const names = (header?.fields ?? []).map((h) => h.trim());
  const unknown = names.filter((n) => !(CSV_COLUMNS as readonly string[]).includes(n));
  if (!names.includes('profile') || unknown.length > 0 || new Set(names).size !== names.length) {
    throw new TestbedError(
      'TESTBED_BAD_REQUEST',
      `The CSV's first line must name its columns, once each, from: ${CSV_COLUMNS.join(', ')} (profile is required), ` + 'separated by commas or semicolons',
    );
  }
  return {
    devices: rows.map(({ fields, line }) => {
      if (fields.length !== names.length)
        throw new TestbedError(
          'TESTBED_BAD_REQUEST',
          `CSV line ${line} has ${fields.length} fields; the header has ${names.length} (${parsed.delimiter}-separated)`,
        );
      return locationCells(Object.fromEntries(names.flatMap((n, j) => (fields[j] === '' ? [] : [[n, fields[j] as string]]))));
    }),
  };
}

/** Devices of a pilot: registered one at a time or in bulk, and listed with their connection status. */
export const pilotDeviceRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const { registry, profiles } = deps;
  app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES }, (_request, body, done) => {
    try {
      done(null, devicesFromCsv(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  const created = ({ device, password }: { device: Device; password: string }) => ({
    ...device,
    mqtt: { url: deps.mqttUrl, username: device.username, password, topic: deviceTopic(device.id, 'readings') },
  });

  app.post(
    '/pilots/:pilotId/devices',
    {
      config: changes('admin', 'operator', 'company'),
      schema: {
        tags: ['devices'],
        summary: 'Register a device in a pilot; answers its MQTT credentials once',
        params: pilotParamsSchema,
        body: newDeviceSchema,
        response: { 201: json('The new device and its MQTT credentials; the password is shown only now', createdDeviceSchema), ...errorResponses },
      },
    },
    async (request, reply) => {
      // Visibility first: a pilot outside the scope answers 404 whatever the body says.
      const pilot = await visiblePilot(request, registry, request.params.pilotId);
      knownProfile(profiles, request.body.profile);
      return reply.code(201).send(created(await registry.createDevice(callerOf(request).scope, pilot.id, newDeviceOf(request.body))));
    },
  );

  app.post(
    '/pilots/:pilotId/devices/bulk',
    {
      config: changes('admin', 'operator', 'company'),
      schema: {
        tags: ['devices'],
        summary: 'Register many devices in one request, all or nothing; answers their MQTT credentials once',
        description:
          'JSON `{ "devices": [ { "profile", "name"?, "username"?, "location"?, "placement"?, "installedAt"?, "removedAt"? } ] }`, or CSV (Content-Type: text/csv) with a header row naming the ' +
          'columns (profile, name, username, lon, lat, alt, placement, installedAt, removedAt; lon and lat in WGS84 degrees, alt in metres) and a device a row, separated by `,` or `;` (as the header line is). If any device has a problem, none is registered and the 400 lists every ' +
          'problem by `devices.<n>` (the n-th device, from 0: CSV line n + 2).',
        consumes: ['application/json', 'text/csv'],
        params: pilotParamsSchema,
        body: bulkDevicesSchema,
        response: {
          201: json('The new devices, in the order given, with their MQTT credentials; the passwords are shown only now', createdDevicesSchema),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const pilot = await visiblePilot(request, registry, request.params.pilotId);
      const inputs: NewDevice[] = request.body.devices.map(newDeviceOf);
      const problems: (FieldProblem & { index: number })[] = [];
      inputs.forEach((d, index) => {
        if (!profiles.has(d.profile))
          problems.push({ index, in: 'body', field: `devices.${index}.profile`, message: unknownProfileMessage(profiles, d.profile) });
      });
      for (const p of await registry.checkNewDevices(callerOf(request).scope, pilot.id, inputs))
        problems.push({ index: p.index, in: 'body', field: `devices.${p.index}.${p.field}`, message: p.message });
      if (problems.length > 0) {
        const details = problems.sort((a, b) => a.index - b.index).map(({ index: _, ...p }) => p);
        throw new TestbedError('TESTBED_BAD_REQUEST', `No device was registered: ${details.length} problem(s), each listed in details`, details);
      }
      return reply.code(201).send({ devices: (await registry.createDevices(callerOf(request).scope, pilot.id, inputs)).map(created) });
    },
  );

  app.get(
    '/pilots/:pilotId/devices',
    {
      config: OPEN_DATA,
      schema: {
        tags: ['devices'],
        summary: "List a pilot's devices with their profile, location and connection status",
        description: 'Researchers and anonymous readers see locations on the pilot grid (locationPrecisionMeters) when it has one; bbox filters on those.',
        params: pilotParamsSchema,
        querystring: devicesQuerySchema,
        response: { 200: json('The devices, oldest first', devicesResponseSchema), ...errorResponses },
      },
    },
    async (request) => {
      const pilot = await visiblePilot(request, registry, request.params.pilotId);
      const bbox = request.query.bbox === undefined ? undefined : parseBbox(request.query.bbox);
      if (typeof bbox === 'string') throw new TestbedError('TESTBED_BAD_REQUEST', bbox, [{ in: 'querystring', field: 'bbox', message: bbox }]);
      return { devices: (await registry.listDevices(callerOf(request).scope, pilot.id, { bbox })).map((d) => deviceView(deps.sessions, d)) };
    },
  );
};
