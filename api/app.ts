import Fastify, { type FastifyBaseLogger } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiDeps, ApiInstance } from './deps.js';
import { BODY_LIMIT_BYTES } from './limits.js';
import { requireApiKey } from './plugins/auth.js';
import { handleErrors } from './plugins/errors.js';
import { serveOpenApi } from './plugins/openapi.js';
import { RequestLog } from './plugins/request-log.js';
import { companyRoutes } from './routes/companies/index.js';
import { deviceHistoryRoutes } from './routes/devices/history.js';
import { deviceRoutes } from './routes/devices/index.js';
import { healthRoutes } from './routes/health/index.js';
import { pilotDeviceRoutes } from './routes/pilots/devices.js';
import { pilotRoutes } from './routes/pilots/index.js';
import { profileRoutes } from './routes/profiles/index.js';
import { testbedRoutes } from './routes/testbeds/index.js';

export type { ApiDeps } from './deps.js';

/**
 * The HTTP API as a plugin tree, ready but not listening (use `inject()` or
 * `start()`):
 *
 *   /openapi.json          the document, generated from the routes' zod schemas
 *   /v1/health             no key
 *   /v1/...                behind the API key hook: each route declares its access
 */
export async function buildApp(deps: ApiDeps): Promise<ApiInstance> {
  // Typed as Fastify's logger interface so the plugins need not know it is pino.
  const log: FastifyBaseLogger = deps.log.child({ stage: 'api' });
  const app: ApiInstance = Fastify({
    loggerInstance: log,
    bodyLimit: BODY_LIMIT_BYTES,
    logController: new RequestLog(),
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  handleErrors(app);
  await serveOpenApi(app);

  const routes = { deps };
  await app.register(
    async (v1) => {
      await v1.register(healthRoutes, routes);
      await v1.register(async (keyed) => {
        requireApiKey(keyed, deps.registry);
        await keyed.register(testbedRoutes, routes);
        await keyed.register(profileRoutes, routes);
        await keyed.register(companyRoutes, routes);
        await keyed.register(pilotRoutes, routes);
        await keyed.register(pilotDeviceRoutes, routes);
        await keyed.register(deviceRoutes, routes);
        await keyed.register(deviceHistoryRoutes, routes);
      });
    },
    { prefix: '/v1' },
  );
  await app.ready();
  return app;
}
