import { SimulatorError } from './errors.js';

/** CONNACK return codes of MQTT 3.1.1, section 3.2.2.3. */
const CONNACK_REFUSALS: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'client identifier rejected',
  3: 'server unavailable',
  4: 'bad username or password',
  5: 'not authorized',
};

/**
 * Turns what mqtt.js reports while connecting into a message a person can act
 * on: a refused CONNACK carries a numeric return code, a socket error a
 * string code such as ECONNREFUSED.
 */
export function connectError(err: Error, url: string, deviceId: string): SimulatorError {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'number') {
    const refusal = CONNACK_REFUSALS[code] ?? `refused with return code ${code}`;
    const kind = code === 4 ? 'bad-credentials' : code === 5 ? 'not-authorized' : 'refused';
    return new SimulatorError(kind, `${url} refused ${deviceId}: ${refusal} (CONNACK return code ${code})`, { cause: err });
  }
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ECONNRESET' || code === 'EAI_AGAIN') {
    return new SimulatorError('unreachable', `cannot reach the MQTT broker at ${url} (${code}): is the gateway running?`, { cause: err });
  }
  return new SimulatorError('refused', `cannot connect ${deviceId} to ${url}: ${err.message}`, { cause: err });
}
