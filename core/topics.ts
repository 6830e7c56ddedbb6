/**
 * The one topic builder and the one topic parser. Nothing else in the project
 * concatenates or splits topic strings.
 *
 * Contract (MQTT 3.1.1):
 *   devices/{deviceId}/readings  device -> gateway, QoS 0 or 1
 *   devices/{deviceId}/errors    gateway -> device, QoS 0: a notice per rejection
 *   devices/{deviceId}/status    the device's will (QoS 0 or 1), passed on, not stored
 *   devices/{deviceId}/commands  gateway -> device, QoS 1: `{ id, name, params, expiresAt }`
 *   devices/{deviceId}/commands/{commandId}/result
 *                                device -> gateway, QoS 0 or 1: `{ ok, result?, error? }`
 *   devices/{deviceId}/config/desired   gateway -> device, QoS 1, retained: `{ version, config }`
 *   devices/{deviceId}/config/reported  device -> gateway, QoS 0 or 1: `{ version?, config }`
 */
export const TOPIC_ROOT = 'devices';

export type DeviceChannel = 'readings' | 'errors' | 'status' | 'commands';

/**
 * What an unusable device username is told, whether it is unsafe or already in
 * use: the two answer alike, so that registering a device cannot be used to
 * learn which usernames exist (another tenant's included).
 */
export const USERNAME_UNAVAILABLE = 'not available (a username may use only letters, digits and _ . : @ - (at most 128), and must not be in use already)';

/** Device ids and usernames never contain topic separators or wildcards. */
const SAFE_SEGMENT = /^[A-Za-z0-9_.:@-]{1,128}$/;

export function isSafeTopicSegment(segment: string): boolean {
  return SAFE_SEGMENT.test(segment);
}

export function deviceTopic(deviceId: string, channel: DeviceChannel): string {
  if (!isSafeTopicSegment(deviceId)) throw new Error(`unsafe device id for a topic: ${JSON.stringify(deviceId)}`);
  return `${TOPIC_ROOT}/${deviceId}/${channel}`;
}

export interface ParsedTopic {
  readonly deviceId: string;
  /** Everything after `devices/{deviceId}/`, possibly with wildcards in a filter. */
  readonly rest: string;
}

/**
 * Parses a topic name or filter under `devices/`. Returns undefined for anything
 * else, including filters whose device segment is a wildcard.
 */
export function parseDeviceTopic(topic: string): ParsedTopic | undefined {
  const first = topic.indexOf('/');
  if (first < 0 || topic.slice(0, first) !== TOPIC_ROOT) return undefined;
  const second = topic.indexOf('/', first + 1);
  if (second < 0) return undefined;
  const deviceId = topic.slice(first + 1, second);
  if (!isSafeTopicSegment(deviceId)) return undefined;
  return { deviceId, rest: topic.slice(second + 1) };
}

/** Where a device's desired configuration is sent (`desired`), and where it reports its own (`reported`). */
export function configTopic(deviceId: string, side: 'desired' | 'reported'): string {
  if (!isSafeTopicSegment(deviceId)) throw new Error(`unsafe device id for a topic: ${JSON.stringify(deviceId)}`);
  return `${TOPIC_ROOT}/${deviceId}/config/${side}`;
}

/** Where a device answers one of its commands. */
export function commandResultTopic(deviceId: string, commandId: string): string {
  if (!isSafeTopicSegment(commandId)) throw new Error(`unsafe command id for a topic: ${JSON.stringify(commandId)}`);
  return `${deviceTopic(deviceId, 'commands')}/${commandId}/result`;
}

/** The device and command of a result topic, or undefined when `topic` is not one (filters with wildcards are not). */
export function parseCommandResultTopic(topic: string): { deviceId: string; commandId: string } | undefined {
  const parsed = parseDeviceTopic(topic);
  const parts = parsed?.rest.split('/');
  if (!parsed || parts?.length !== 3 || parts[0] !== 'commands' || parts[2] !== 'result') return undefined;
  const commandId = parts[1]!;
  return isSafeTopicSegment(commandId) ? { deviceId: parsed.deviceId, commandId } : undefined;
}

/**
 * Whether a subscription filter matches a topic name (MQTT 3.1.1 section
 * 4.7: `+` one level, `#` this level and every one below, last). Topics
 * starting with `$` are not matched by a leading wildcard [MQTT-4.7.2-1].
 */
export function filterMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return i === f.length - 1;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}
