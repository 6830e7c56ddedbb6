import { type DeviceContext, configTopic, deviceTopic, parseCommandResultTopic, parseDeviceTopic } from '../core/index.js';

/**
 * Topic access policy, as pure functions over plain data. The Aedes hooks in
 * broker.ts only translate their answers into MQTT.
 */

/** What a connected device may use, worked out once at CONNECT rather than per message. */
export interface DeviceAccess {
  readonly device: DeviceContext;
  /** Where it publishes readings. */
  readonly readingsTopic: string;
  /** Where it reports its configuration. */
  readonly reportedTopic: string;
}

export function accessOf(device: DeviceContext): DeviceAccess {
  return { device, readingsTopic: deviceTopic(device.deviceId, 'readings'), reportedTopic: configTopic(device.deviceId, 'reported') };
}

/** What a device's PUBLISH is: a reading, the result of one of its commands, or its configuration report. */
export type PublishTarget = { readonly kind: 'readings' } | { readonly kind: 'result'; readonly commandId: string } | { readonly kind: 'reported' };

const READINGS: PublishTarget = { kind: 'readings' };
const REPORTED: PublishTarget = { kind: 'reported' };

/**
 * A device may publish only its own readings, its configuration report, and
 * results on its own commands' topics; anything else is undefined. Whether the command id is
 * really one of its commands is for the command store to say.
 */
export function publishTarget(access: DeviceAccess, topic: string): PublishTarget | undefined {
  if (topic === access.readingsTopic) return READINGS;
  if (topic === access.reportedTopic) return REPORTED;
  const result = parseCommandResultTopic(topic);
  if (result?.deviceId === access.device.deviceId) return { kind: 'result', commandId: result.commandId };
  return undefined;
}

/**
 * A device may subscribe only to filters that cannot match another device's
 * topics: the filter must name its own id in the device segment (a `+` or `#`
 * there would match every device).
 */
export function maySubscribe(access: DeviceAccess, filter: string): boolean {
  const parsed = parseDeviceTopic(filter);
  return parsed !== undefined && parsed.deviceId === access.device.deviceId && parsed.rest.length > 0;
}

export type PilotWindow = 'active' | 'not-started' | 'ended';

/** Whether the device's pilot is running at `now` (epoch ms). */
export function pilotWindow(device: DeviceContext, now: number): PilotWindow {
  if (device.pilotStartsAt !== null && now < device.pilotStartsAt) return 'not-started';
  if (device.pilotEndsAt !== null && now >= device.pilotEndsAt) return 'ended';
  return 'active';
}
