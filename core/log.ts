import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/**
 * The one root logger. Stages take children (`log.child({ stage: 'ingest' })`);
 * Fastify and the InfluxDB client log through it too.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, base: { service: 'testbed' } }, destination ?? pino.destination({ fd: 1, sync: false }));
}
