import type { z } from 'zod';
import { isoTime, type Device, type DeviceHealth } from '../../../core/index.js';
import { NO_HEALTH, type HealthRecord } from '../../../registry/index.js';
import type { ApiDeps, DeviceSessions } from '../../deps.js';
import type { deviceDetailSchema } from '../../schemas/fleet.js';

type DeviceDetail = z.infer<typeof deviceDetailSchema>;

/** A device with its connection status; without the gateway's sessions, offline and never seen. */
export function deviceView(sessions: DeviceSessions | undefined, device: Device) {
  const lastSeen = sessions?.lastSeen(device.id);
  return {
    ...device,
    connection: { online: sessions?.isOnline(device.id) ?? false, lastSeen: lastSeen === undefined ? null : isoTime(lastSeen) },
  };
}

const isoOrNull = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : isoTime(ms));

/** A device with its connection status and its health: the registry's record, the gateway's sockets for `online`. */
export function deviceDetail(deps: Pick<ApiDeps, 'sessions' | 'profiles' | 'health'>, device: Device, kept: HealthRecord | undefined): DeviceDetail {
  const h = kept ?? NO_HEALTH;
  const online = deps.sessions?.isOnline(device.id) ?? false;
  const seen = Math.max(h.lastSeen ?? 0, deps.sessions?.lastSeen(device.id) ?? 0);
  const profile = deps.profiles.get(device.profile);
  const health: DeviceHealth = {
    status: h.status,
    online,
    lastSeen: seen === 0 ? null : isoTime(seen),
    lastReadingAt: isoOrNull(h.lastReadingAt),
    lastConnectedAt: isoOrNull(h.lastConnectedAt),
    lastDisconnectedAt: isoOrNull(h.lastDisconnectedAt),
    disconnectReason: h.disconnectReason,
    expectedIntervalSeconds: h.reportedIntervalSeconds ?? profile?.profile.reportingIntervalSeconds ?? null,
    ...(h.battery === null ? {} : { battery: { value: h.battery, low: h.batteryLow ?? false } }),
    ...(h.signal === null ? {} : { signal: { rssi: h.signal } }),
    rejectionsLastHour: deps.health?.rejectionsLastHour(device.id) ?? {},
  };
  return { ...device, connection: { online, lastSeen: health.lastSeen }, health };
}
