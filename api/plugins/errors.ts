import { TestbedError } from '../../core/index.js';
import type { ApiInstance } from '../deps.js';
import { errorBody, toTestbedError } from '../errors.js';

/**
 * The one error handler and the not-found handler, on the root instance so
 * every route and hook answers with the same `{ error: { code, message } }`.
 */
export function handleErrors(app: ApiInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const error = toTestbedError(err);
    if (error.code === 'TESTBED_INTERNAL') {
      request.log.error({ err }, 'unexpected error');
      // Neither the cause's message nor its stack goes to the client; the request id finds them in the log.
      return reply.code(error.status).send(errorBody(error, `Internal error; the server log has the details under request id ${request.id}`));
    }
    if (error.status >= 500) request.log.warn({ err: error.cause ?? error, code: error.code }, error.message);
    else request.log.debug({ code: error.code, message: error.message }, 'request refused');
    // RFC 6750 §3: a 401 for a bearer-protected resource names the scheme.
    if (error.code === 'TESTBED_UNAUTHORIZED') void reply.header('www-authenticate', 'Bearer realm="testbed"');
    // RFC 9110 §10.2.3: how many seconds to wait before trying again.
    const retryAfter = (error.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
    if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter));
    return reply.code(error.status).send(errorBody(error));
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const error = new TestbedError('TESTBED_NOT_FOUND', `There is no route ${request.method} ${path}; GET /openapi.json lists the routes`);
    return reply.code(error.status).send(errorBody(error));
  });
}
