import { type Config, TestbedError } from '../core/index.js';

/** Every port the server listens on, with the variable that sets it. */
function listeningPorts(config: Config): { variable: string; port: number }[] {
  const ports = [
    { variable: 'TESTBED_MQTT_PORT', port: config.mqtt.port },
    { variable: 'TESTBED_MQTTS_PORT', port: config.mqtt.tlsPort },
    { variable: 'TESTBED_HTTP_PORT', port: config.http.port },
  ];
  return ports.filter((p): p is { variable: string; port: number } => p.port !== undefined);
}

/**
 * A listen that failed because the port is taken, as one TESTBED_PORT_IN_USE
 * error naming the port and the variable that set it; undefined for any other error.
 */
export function portInUse(err: unknown, config: Config): TestbedError | undefined {
  const e = err as NodeJS.ErrnoException & { port?: number };
  if (e?.code !== 'EADDRINUSE') return undefined;
  const port = typeof e.port === 'number' ? e.port : Number(/:(\d+)$/.exec(e.message)?.[1]);
  const variables = listeningPorts(config)
    .filter((p) => p.port === port)
    .map((p) => p.variable);
  const which = variables.length > 0 ? variables.join(' and ') : 'a TESTBED_*_PORT variable';
  return new TestbedError(
    'TESTBED_PORT_IN_USE',
    `port ${port} on ${config.host} is already in use (set by ${which}); stop what listens there, or set ${variables[0] ?? 'the variable'} to a free port`,
    { port, variables },
  );
}
