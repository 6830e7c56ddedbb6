import { type Config, createLogger, type Logger } from '../core/index.js';

/**
 * The server's logger on stdout: human-readable on a terminal, JSON lines
 * otherwise (for a log collector); TESTBED_LOG_FORMAT forces either.
 */
export function stdoutLogger(config: Config): Logger {
  const pretty = config.logFormat === 'pretty' || (config.logFormat === 'auto' && process.stdout.isTTY === true);
  return createLogger(config.logLevel, { format: pretty ? 'pretty' : 'json' });
}

/** The logger of a command whose terminal is for people (the demo): JSON lines in a file, unless TESTBED_LOG_FORMAT=pretty. */
export function fileLogger(config: Config, file: string): Logger {
  return createLogger(config.logLevel, { format: config.logFormat === 'pretty' ? 'pretty' : 'json', file });
}
