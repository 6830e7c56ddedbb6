import { pino, type Logger, type DestinationStream } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';

export interface LogOptions {
  /** `json`: one JSON object a line (default); `pretty`: human-readable lines (pino-pretty). */
  readonly format?: 'json' | 'pretty';
  /** Append to this file instead of writing to stdout. */
  readonly file?: string;
}

/**
 * The one root logger. Stages take children (`log.child({ stage: 'ingest' })`);
 * Fastify and the InfluxDB client log through it too. Which format suits where
 * the lines go is the caller's choice (the command line decides from the terminal).
 */
export function createLogger(level: string, options: LogOptions = {}): Logger {
  const dest = options.file ?? 1;
  const destination: DestinationStream =
    options.format === 'pretty'
      ? pretty({
          destination: dest,
          colorize: options.file === undefined && pretty.isColorSupported,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname,service',
        })
      : pino.destination({ dest, sync: false, mkdir: true });
  return pino({ level, base: { service: 'testbed' } }, destination);
}
