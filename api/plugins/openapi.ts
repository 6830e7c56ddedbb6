import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { createJsonSchemaTransform, createJsonSchemaTransformObject } from 'fastify-type-provider-zod';
import type { ApiInstance } from '../deps.js';
import { BODY_LIMIT_BYTES, MAX_BULK_DEVICES, MAX_QUERY_LIMIT, RATE_LIMIT, type ApiLimits } from '../limits.js';

/** The security scheme every route but health and this document requires. */
export const BEARER_SCHEME = 'apiKey';

type Document = ReturnType<ReturnType<typeof createJsonSchemaTransformObject>>;

/**
 * Drops the components nothing refers to. The zod provider emits an input and
 * an output variant of every named schema in zod's global registry, and ours
 * are each used one way only. `doc` is the provider's fresh copy, so it is
 * trimmed in place.
 */
function dropUnusedComponents(doc: Document): Document {
  const schemas: Record<string, unknown> | undefined = 'components' in doc ? doc.components?.schemas : undefined;
  if (!schemas) return doc;
  const used = new Set<string>();
  const collect = (value: unknown): void => {
    for (const [, name] of JSON.stringify(value ?? null).matchAll(/"#\/components\/schemas\/([^"]+)"/g)) {
      if (name !== undefined && !used.has(name)) {
        used.add(name);
        collect(schemas[name]);
      }
    }
  };
  collect(doc.paths);
  for (const name of Object.keys(schemas)) if (!used.has(name)) delete schemas[name];
  return doc;
}

/** The info description: who sees what, the error shape, and every limit. */
function overview(limits: ApiLimits): string {
  return [
    'Registry and readings of city living-lab testbeds. Every route but /v1/health, /openapi.json and /docs takes `Authorization: Bearer <key>`.',
    '',
    '**Roles.** admin: everything. operator: every pilot and device in its testbeds. company: its own pilots. researcher: pilots shared ' +
      'with research or published as open data, read only. Each operation lists the roles that may call it in `x-roles`, and ' +
      "`x-changes: true` when it changes something (refused to read-only keys). An object outside the key's scope answers exactly as one " +
      'that does not exist (404).',
    '',
    '**Errors** are `{ "error": { "code": "TESTBED_...", "message": "...", "details"?: ... } }`; the codes are listed on the Error schema.',
    '',
    `**Limits.** Bodies up to ${BODY_LIMIT_BYTES} bytes (413). A page of raw readings holds at most ${MAX_QUERY_LIMIT} rows (follow \`next\`, ` +
      `or export with format=csv|ndjson, which streams any range). An aggregate answer in JSON holds at most ${limits.maxWindows} windows ` +
      `(this sets the smallest every for a range) and ${limits.maxAggregateRows} rows (windows x devices); an export up to ` +
      `${limits.maxExportWindows} windows. A query may run ${limits.maxQueryMs / 1000} s at most. Bulk registration takes up to ` +
      `${MAX_BULK_DEVICES} devices. Each key may make ${RATE_LIMIT.perSecond} requests a second in bursts of ${RATE_LIMIT.burst} ` +
      `(429 TESTBED_RATE_LIMITED with Retry-After beyond) and hold ${limits.maxLiveStreamsPerKey} live streams; a company's keys together ` +
      `hold at most ${limits.maxLiveStreamsPerCompany} and make at most TESTBED_COMPANY_REQUESTS_PER_SECOND requests a second. Beyond a query limit the ` +
      'answer is 400 TESTBED_LIMIT_EXCEEDED naming the limit (details.limit) and what to ask instead. A key belongs in the Authorization ' +
      'header: one in the query string is 400 TESTBED_KEY_IN_URL. Repeated failed keys from one address are 429 TESTBED_KEY_THROTTLED.',
  ].join('\n');
}

/**
 * Generates the OpenAPI 3.1 document from the routes' zod schemas and serves it
 * at `GET /openapi.json`, browsable at `/docs` (Swagger UI). Each operation gets
 * the route's declared policy as `x-roles`, `x-scopes` (key scopes that also
 * admit a caller) and `x-changes`. Call it on the root
 * instance before any route is registered: @fastify/swagger collects routes as
 * they are added.
 */
export async function serveOpenApi(app: ApiInstance, limits: ApiLimits): Promise<void> {
  const toDocument = createJsonSchemaTransformObject({});
  const zodTransform = createJsonSchemaTransform({});
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Testbed gateway API', version: '1.0.0', description: overview(limits) },
      components: { securitySchemes: { [BEARER_SCHEME]: { type: 'http', scheme: 'bearer' } } },
      security: [{ [BEARER_SCHEME]: [] }],
    },
    transform: (input) => {
      const out = zodTransform(input);
      const { roles, changes, scopes } = input.route.config ?? {};
      if (roles === undefined) return out;
      const scoped = scopes === undefined ? {} : { 'x-scopes': scopes };
      return { ...out, schema: { ...out.schema, 'x-roles': roles, ...scoped, 'x-changes': changes ?? true } };
    },
    transformObject: (input) => dropUnusedComponents(toDocument(input)),
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true, persistAuthorization: false }, staticCSP: true });
}
