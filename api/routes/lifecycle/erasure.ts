import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { TestbedError } from '../../../core/index.js';
import { changes, reads } from '../../access.js';
import type { RouteOptions } from '../../deps.js';
import { NO_PILOT, visiblePilot } from '../../lookups.js';
import { callerOf, noteTarget } from '../../plugins/auth.js';
import { eraseBodySchema, erasureResponseSchema, receiptKeySchema, receiptParamsSchema, receiptResponseSchema } from '../../schemas/lifecycle.js';
import { pilotParamsSchema } from '../../schemas/pilots.js';
import { errorResponses, json } from '../../schemas/responses.js';
import { lifecycleOf } from './exports.js';

const NO_RECEIPT = "No receipt with this id is visible to this API key; check the id, and that the key's scope includes its pilot";

/** Erasure of an ended pilot's data, and the signed receipts that prove it. */
export const erasureRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.post(
    '/pilots/:pilotId/erase',
    {
      config: changes('admin', 'operator', 'company'),
      schema: {
        tags: ['lifecycle'],
        summary: "Erase an ended pilot's data from every store, then issue a signed receipt",
        description:
          "Removes the pilot's readings (from the store in use), rejections, export bundles, and its devices' credentials, places, health, " +
          'events, commands and alerts; keeps the pilot and device records, the audit log and the receipt. Only an ended pilot (409 ' +
          'TESTBED_PILOT_NOT_ENDED), confirmed with its name (400 TESTBED_ERASE_NOT_CONFIRMED); an admin may force it with force: true. Runs in the ' +
          'background (202), resumes after a restart, and is idempotent: asking again reports the same erasure. Follow GET /v1/pilots/{pilotId}/erasure.',
        params: pilotParamsSchema,
        body: eraseBodySchema,
        response: { 202: json('The erasure, under way or done', erasureResponseSchema), ...errorResponses },
      },
    },
    async (request, reply) => {
      const pilot = await visiblePilot(request, deps.registry, request.params.pilotId);
      const erasure = await lifecycleOf(deps).startErasure(callerOf(request), pilot.id, request.body);
      if (!erasure) throw new TestbedError('TESTBED_NOT_FOUND', NO_PILOT);
      return reply.code(202).send(erasure);
    },
  );

  app.get(
    '/pilots/:pilotId/erasure',
    {
      config: reads('admin', 'operator', 'company'),
      schema: {
        tags: ['lifecycle'],
        summary: "A pilot's erasure: none, running or done, with its receipt's id",
        params: pilotParamsSchema,
        response: { 200: json('The erasure', erasureResponseSchema), ...errorResponses },
      },
    },
    async (request) => {
      const pilot = await visiblePilot(request, deps.registry, request.params.pilotId);
      const erasure = await deps.registry.getErasure(callerOf(request).scope, pilot.id);
      if (!erasure) throw new TestbedError('TESTBED_NOT_FOUND', NO_PILOT);
      return erasure;
    },
  );

  app.get(
    '/receipts/:receiptId',
    {
      config: reads('admin', 'operator', 'company', 'researcher'),
      schema: {
        tags: ['lifecycle'],
        summary: 'An erasure receipt, signed with the gateway key (GET /.well-known/testbed-receipt-key)',
        description:
          'jws is a JWS in compact form (RFC 7515), alg EdDSA (Ed25519): verify it with the published key before trusting receipt, ' +
          'which is its payload decoded. The README shows how with Node or OpenSSL alone.',
        params: receiptParamsSchema,
        response: { 200: json('The receipt', receiptResponseSchema), ...errorResponses },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const stored = await deps.registry.getReceipt(caller.scope, request.params.receiptId);
      if (!stored) throw new TestbedError('TESTBED_NOT_FOUND', NO_RECEIPT);
      const pilot = await deps.registry.getPilot(caller.scope, stored.pilotId);
      noteTarget(request, { companyId: pilot?.companyId, testbedId: pilot?.testbedId, pilotId: stored.pilotId });
      const payload = stored.jws.split('.')[1] ?? '';
      return { ...stored, receipt: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown> };
    },
  );
};

/** `GET /.well-known/testbed-receipt-key`: the receipt key, to anyone (RFC 8615 well-known location). */
export const receiptKeyRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { deps }) => {
  app.get(
    '/.well-known/testbed-receipt-key',
    {
      config: reads('admin', 'operator', 'company', 'researcher', 'anonymous'),
      schema: {
        tags: ['lifecycle'],
        summary: 'The public key erasure receipts are signed with (JWK, Ed25519); no key needed',
        response: { 200: json('The public key', receiptKeySchema), ...errorResponses },
      },
    },
    async () => lifecycleOf(deps).publicKey(),
  );
};
