/**
 * The one topic builder and the one topic parser. Nothing else in the project
 * concatenates or splits topic strings.
 *
 * Contract (MQTT 3.1.1):
 *   devices/{deviceId}/readings  device -> gateway, QoS 0 or 1
 *   devices/{deviceId}/errors    gateway -> device, QoS 0: a notice per rejection
 *   devices/{deviceId}/status    the device's will (QoS 0 or 1), passed on, not stored
 */
export const TOPIC_ROOT = 'devices';

export type DeviceChannel = 'readings' | 'errors' | 'status';

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
