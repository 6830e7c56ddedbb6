import type { FastifyReply, FastifyRequest } from 'fastify';
import { SensorThings } from '../../../sensorthings/index.js';
import { reads } from '../../access.js';
import type { ApiInstance, RouteOptions } from '../../deps.js';
import { callerOf } from '../../plugins/auth.js';
import { readStore } from '../../store-read.js';

/** Where the SensorThings service is mounted; its links start here. */
export const STA_PREFIX = '/sta/v1.1';

/**
 * The OGC SensorThings API 1.1, read-only (sensorthings/), served under the
 * same caller resolution as /v1: the hook resolves the caller once, and its
 * scope goes into every registry and store read the service makes; a request
 * without a key reads open pilots only. One
 * wildcard route: OData paths (`Things('id')/Datastreams`) are the service's
 * to parse, not the router's. Not in the OpenAPI document: the SensorThings
 * landing page describes it.
 */
export async function sensorThingsRoutes(app: ApiInstance, { deps, limits }: RouteOptions) {
  const sta = new SensorThings({ registry: deps.registry, readings: deps.readings, profiles: deps.profiles, maxQueryMs: limits.maxQueryMs });
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const [pathPart = '', queryPart = ''] = request.url.split('?', 2);
    const base = `${request.protocol}://${request.host}${STA_PREFIX}`;
    const answer = await readStore(() =>
      sta.answer({ scope: callerOf(request).scope, path: pathPart.slice(STA_PREFIX.length), query: new URLSearchParams(queryPart), base }),
    );
    if ('text' in answer) return reply.type('text/plain; charset=utf-8').send(answer.text);
    return reply.type('application/json; charset=utf-8').send(JSON.stringify(answer.json));
  };
  // Any key, and no key: an anonymous caller's scope is the pilots open now (the registry's anonymousCaller).
  const options = { config: reads('admin', 'operator', 'company', 'researcher', 'anonymous'), schema: { hide: true } };
  app.get('', options, handler);
  app.get('/*', options, handler);
}
