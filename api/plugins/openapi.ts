import swagger from '@fastify/swagger';
import { createJsonSchemaTransform, createJsonSchemaTransformObject } from 'fastify-type-provider-zod';
import type { ApiInstance } from '../deps.js';

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

/**
 * Generates the OpenAPI 3.1 document from the routes' zod schemas and serves it
 * at `GET /openapi.json`. Call it on the root instance before any route is
 * registered: @fastify/swagger collects routes as they are added.
 */
export async function serveOpenApi(app: ApiInstance): Promise<void> {
  const toDocument = createJsonSchemaTransformObject({});
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Testbed gateway API',
        version: '1.0.0',
        description:
          'Registry and readings of city living-lab testbeds. Every route but /v1/health and /openapi.json takes ' +
          '`Authorization: Bearer <key>`; a company key sees only its own company\'s pilots and devices. Errors are ' +
          '`{ "error": { "code": "TESTBED_...", "message": "...", "details"?: ... } }`.',
      },
      components: { securitySchemes: { [BEARER_SCHEME]: { type: 'http', scheme: 'bearer' } } },
      security: [{ [BEARER_SCHEME]: [] }],
    },
    transform: createJsonSchemaTransform({}),
    transformObject: (input) => dropUnusedComponents(toDocument(input)),
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
