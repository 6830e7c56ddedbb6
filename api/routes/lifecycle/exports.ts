import fs from 'node:fs';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { TestbedError, type PilotExport } from '../../../core/index.js';
import type { BundleFile, PilotLifecycle } from '../../../lifecycle/index.js';
import { changes, reads } from '../../access.js';
import type { RouteOptions } from '../../deps.js';
import { visiblePilot } from '../../lookups.js';
import { callerOf, noteTarget } from '../../plugins/auth.js';
import { exportParamsSchema, exportResponseSchema, zipBody } from '../../schemas/lifecycle.js';
import { pilotParamsSchema } from '../../schemas/pilots.js';
import { errorResponses, json } from '../../schemas/responses.js';

const NO_EXPORT = "No export with this id is visible to this API key; check the id, and that the key's scope includes its pilot";
const BUNDLE =
  'A ZIP with readings/<deviceId>.csv per device (RFC 4180; header `time,deviceId,<measurement> [<unit>]...,suspect`), rejections.csv, ' +
  'pilot.json, devices.json (locations and their history, health), profiles/<id>.json and manifest.json (each file with its bytes, rows and SHA-256).';

/** The lifecycle stage, or 503 on a server without it. */
export function lifecycleOf(deps: RouteOptions['deps']): PilotLifecycle {
  if (!deps.lifecycle) throw new TestbedError('TESTBED_STORE_UNAVAILABLE', 'Exports and erasure are not available on this server');
  return deps.lifecycle;
}

/** Streams a bundle from disk: memory holds one read buffer whatever its size. */
function sendFile(reply: FastifyReply, file: BundleFile, sha256: string) {
  return reply
    .header('content-type', 'application/zip')
    .header('content-length', file.bytes)
    .header('content-disposition', `attachment; filename="${file.filename}"`)
    .header('x-content-sha256', sha256)
    .header('cache-control', 'no-store')
    .send(fs.createReadStream(file.path));
}

/** Export bundles: asked for on a pilot, built in the background, downloaded when done. */
export const exportRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  const visibleExport = async (request: Parameters<typeof callerOf>[0], id: string): Promise<PilotExport> => {
    const caller = callerOf(request);
    const job = await deps.registry.getExport(caller.scope, id);
    if (!job) throw new TestbedError('TESTBED_NOT_FOUND', NO_EXPORT);
    const pilot = await deps.registry.getPilot(caller.scope, job.pilotId);
    noteTarget(request, { companyId: pilot?.companyId, testbedId: pilot?.testbedId, pilotId: job.pilotId });
    return job;
  };

  app.post(
    '/pilots/:pilotId/exports',
    {
      // It makes something (a bundle on disk), so, as every POST, not with a read-only key.
      config: changes('admin', 'operator', 'company'),
      schema: {
        tags: ['lifecycle'],
        summary: "Start building an export bundle of all of a pilot's data",
        description: `${BUNDLE} Answers 202 at once; follow GET /v1/exports/{exportId} until state is done, then download.`,
        params: pilotParamsSchema,
        response: { 202: json('The export, started', exportResponseSchema), ...errorResponses },
      },
    },
    async (request, reply) => {
      const pilot = await visiblePilot(request, deps.registry, request.params.pilotId);
      const job = await lifecycleOf(deps).startExport(callerOf(request), pilot.id);
      if (!job) throw new TestbedError('TESTBED_NOT_FOUND', NO_EXPORT);
      return reply.code(202).header('location', `/v1/exports/${job.id}`).send(job);
    },
  );

  app.get(
    '/exports/:exportId',
    {
      config: reads('admin', 'operator', 'company'),
      schema: {
        tags: ['lifecycle'],
        summary: 'An export: its progress (readings written, of how many), and when done its size and SHA-256',
        params: exportParamsSchema,
        response: { 200: json('The export', exportResponseSchema), ...errorResponses },
      },
    },
    async (request) => await visibleExport(request, request.params.exportId),
  );

  app.get(
    '/exports/:exportId/download',
    {
      config: reads('admin', 'operator', 'company'),
      schema: {
        tags: ['lifecycle'],
        summary: 'Download a finished export bundle',
        description: `${BUNDLE} 409 TESTBED_EXPORT_NOT_READY while it is built, or when it failed. The X-Content-SHA256 header repeats its SHA-256.`,
        params: exportParamsSchema,
        response: { 200: zipBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const job = await visibleExport(request, request.params.exportId);
      const file = await lifecycleOf(deps).bundle(callerOf(request).scope, job.id);
      if (!file) throw new TestbedError('TESTBED_NOT_FOUND', NO_EXPORT);
      return sendFile(reply, file, job.sha256 ?? '');
    },
  );
};
