import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { redactUrl } from '../key-guard.js';

/**
 * Request logging: one line per request, when it completes, instead of
 * Fastify's two. A route lowers its own noise with the `logLevel` route option
 * (health does). Headers are not logged: they carry API keys; nor is a query
 * that carries one.
 */
export class RequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    // A key sent in the URL is refused, and its query never reaches the log.
    const line = { method: request.method, url: redactUrl(request.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}
