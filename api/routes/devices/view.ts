import { isoTime, type Device } from '../../../core/index.js';
import type { DeviceSessions } from '../../deps.js';

/** A device with its connection status; without the gateway's sessions, offline and never seen. */
export function deviceView(sessions: DeviceSessions | undefined, device: Device) {
  const lastSeen = sessions?.lastSeen(device.id);
  return {
    ...device,
    connection: { online: sessions?.isOnline(device.id) ?? false, lastSeen: lastSeen === undefined ? null : isoTime(lastSeen) },
  };
}
