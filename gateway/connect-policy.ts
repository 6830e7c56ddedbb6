import { type DeviceContext, deviceTopic } from '../core/index.js';

/**
 * What a CONNECT may ask for, as pure functions; the broker hooks only
 * translate their answers into CONNACK codes.
 */

/**
 * The broker's own key for a connection's session: the device id, then the
 * client id the device chose. Client ids are scoped to their device, so a
 * device of another tenant that connects with the same client id gets a
 * session of its own and cannot take over (squat) this one [MQTT-3.1.4-2 applies
 * within one device]. Device ids never contain '/', so the key is unambiguous.
 */
export function sessionKey(deviceId: string, clientId: string): string {
  return `${deviceId}/${clientId}`;
}

/** The will a CONNECT carries, as the packet parser gives it. */
export interface Will {
  readonly topic: string;
  readonly qos: number;
  readonly retain?: boolean;
}

/**
 * A will may go only to the device's own status topic, at QoS 0 or 1 (the
 * contract's QoS levels). Returns the problem, or undefined when it is allowed.
 */
export function willProblem(device: DeviceContext, will: Will | null | undefined): string | undefined {
  if (!will) return undefined;
  const own = deviceTopic(device.deviceId, 'status');
  if (will.topic !== own) return `a will may only go to ${own}, not ${printable(will.topic)}`;
  if (will.qos !== 0 && will.qos !== 1) return `a will may have QoS 0 or 1, not ${will.qos}`;
  return undefined;
}

/**
 * The keepalive the gateway enforces. A keepalive of 0 (never time out) or
 * longer than `max` is replaced by `max`: the connection is closed after one
 * and a half times that without a packet [MQTT-3.1.2-24], so a silent
 * half-open connection cannot be held for ever.
 */
export function keepaliveFor(requested: number | undefined, max: number): number {
  return !requested || requested > max ? max : requested;
}

/** A client-supplied string fit for a log line: at most 64 characters, control characters escaped. */
export function printable(value: unknown, max = 64): string {
  const text = typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8', 0, max * 4) : String(value);
  const cut = text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text;
  return JSON.stringify(cut);
}
