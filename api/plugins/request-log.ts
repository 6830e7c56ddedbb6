import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/**
 * Request logging: one line per request, when it completes, instead of
 * Fastify's two. A route lowers its own noise with the `logLevel` route option
 * (health does). Headers are not logged: they carry API keys.
 */
export class RequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}
