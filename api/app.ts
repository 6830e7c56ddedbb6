import Fastify, { type FastifyBaseLogger } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { ErrorCodes, TestbedError } from '../core/index.js';
import { CursorCodec } from './cursor.js';
import type { ApiDeps, ApiInstance, RouteOptions } from './deps.js';
import { KeyGuards, refuseKeyInUrl } from './key-guard.js';
import { API_LIMITS, BODY_LIMIT_BYTES } from './limits.js';
import { requireApiKey } from './plugins/auth.js';
import { serveConsole } from './plugins/console.js';
import { handleErrors } from './plugins/errors.js';
import { serveOpenApi } from './plugins/openapi.js';
import { RequestLog } from './plugins/request-log.js';
import { capConnections, fastifyServerOptions, type ServerOptions } from './server-options.js';
import { alertRoutes } from './routes/alerts/index.js';
import { auditRoutes } from './routes/audit/index.js';
import { companyRoutes } from './routes/companies/index.js';
import { datasetRoutes } from './routes/datasets/index.js';
import { deviceFieldRoutes } from './routes/devices/field.js';
import { deviceCommandRoutes } from './routes/devices/commands.js';
import { deviceConfigRoutes } from './routes/devices/config.js';
import { deviceHistoryRoutes } from './routes/devices/history.js';
import { fleetRoutes } from './routes/devices/fleet.js';
import { deviceRoutes } from './routes/devices/index.js';
import { healthRoutes } from './routes/health/index.js';
import { keyRoutes } from './routes/keys/index.js';
import { erasureRoutes, receiptKeyRoutes } from './routes/lifecycle/erasure.js';
import { exportRoutes } from './routes/lifecycle/exports.js';
import { retentionRoutes } from './routes/lifecycle/retention.js';
import { collectOperations, meRoutes } from './routes/me/index.js';
import { metricsRoutes } from './routes/metrics/index.js';
import { pilotDeviceRoutes } from './routes/pilots/devices.js';
import { pilotRoutes } from './routes/pilots/index.js';
import { pilotLiveRoutes } from './routes/pilots/live.js';
import { pilotReadingRoutes } from './routes/pilots/readings.js';
import { profileRoutes } from './routes/profiles/index.js';
import { sensorThingsRoutes, STA_PREFIX } from './routes/sta/index.js';
import { testbedHealthRoutes } from './routes/testbeds/health.js';
import { testbedRoutes } from './routes/testbeds/index.js';
import { webhookRoutes } from './routes/webhooks/index.js';

export type { ApiDeps } from './deps.js';
export type { ServerOptions } from './server-options.js';

/**
 * The HTTP API as a plugin tree, ready but not listening (use `inject()` or
 * `start()`):
 *
 *   /                      the web console's files (no key: it asks the API with the user's)
 *   /openapi.json, /docs   the document, generated from the routes' zod schemas, and a browser for it
 *   /v1/health             no key
 *   /v1/...                behind the API key hook: each route declares its roles
 *   /sta/v1.1/...          the OGC SensorThings API, read-only, behind the same hook
 */
export async function buildApp(deps: ApiDeps, server: ServerOptions = {}): Promise<ApiInstance> {
  // Typed as Fastify's logger interface so the plugins need not know it is pino.
  const log: FastifyBaseLogger = deps.log.child({ stage: 'api' });
  // An HTTPS server has the same interface for the routes; the cast keeps one instance type.
  const app = Fastify({
    loggerInstance: log,
    bodyLimit: BODY_LIMIT_BYTES,
    logController: new RequestLog(),
    ...fastifyServerOptions(server),
  }).withTypeProvider<ZodTypeProvider>() as unknown as ApiInstance;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  handleErrors(app);
  // Everywhere, the open routes included: a key in a URL is refused before anything else looks at it.
  app.addHook('onRequest', async (request) => refuseKeyInUrl(request.url));
  const observe = deps.observeRequest;
  if (observe) {
    // Route patterns, not URLs: the label set stays bounded.
    app.addHook('onResponse', async (request, reply) => observe(request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000));
  }
  if (server.limits) {
    const overCap = capConnections(app.server, server.limits, deps.log.child({ stage: 'api' }));
    app.addHook('onRequest', async (request, reply) => {
      if (!overCap(request.raw.socket)) return;
      void reply.header('connection', 'close').header('retry-after', '1');
      throw new TestbedError(
        'TESTBED_CONNECTION_LIMIT',
        `${ErrorCodes.TESTBED_CONNECTION_LIMIT.message} (at most ${server.limits!.maxConnectionsPerIp} from one address)`,
      );
    });
  }
  const limits = { ...API_LIMITS, ...deps.limits };
  await serveOpenApi(app, limits);
  await serveConsole(app, deps.consoleDir, deps.consoleTileUrl);

  const guards = new KeyGuards({ perKey: deps.rateLimit, perCompany: deps.companyRateLimit, anonymous: deps.anonymousRateLimit }, deps.rateBuckets);
  const routes: RouteOptions = { deps, limits, cursors: new CursorCodec(await deps.registry.secret('cursor')), keys: guards };
  await app.register(
    async (v1) => {
      await v1.register(healthRoutes, routes);
      await v1.register(async (keyed) => {
        requireApiKey(keyed, deps.registry, guards);
        const operations = collectOperations(keyed);
        for (const plugin of [
          meRoutes(operations),
          testbedRoutes,
          profileRoutes,
          keyRoutes,
          companyRoutes,
          pilotRoutes,
          pilotDeviceRoutes,
          pilotReadingRoutes,
          pilotLiveRoutes,
          deviceRoutes,
          deviceHistoryRoutes,
          deviceFieldRoutes,
          datasetRoutes,
          deviceCommandRoutes,
          deviceConfigRoutes,
          fleetRoutes,
          testbedHealthRoutes,
          alertRoutes,
          auditRoutes,
          webhookRoutes,
          exportRoutes,
          erasureRoutes,
          retentionRoutes,
        ]) {
          await keyed.register(plugin, routes);
        }
      });
    },
    { prefix: '/v1' },
  );
  await app.register(
    async (sta) => {
      requireApiKey(sta, deps.registry, guards);
      await sta.register(sensorThingsRoutes, routes);
    },
    { prefix: STA_PREFIX },
  );
  await app.register(async (keyed) => {
    requireApiKey(keyed, deps.registry, guards);
    await keyed.register(metricsRoutes, routes);
    await keyed.register(receiptKeyRoutes, routes);
  });
  await app.ready();
  return app;
}
