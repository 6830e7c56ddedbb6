import { useState } from 'preact/hooks';
import type { Access } from '../access.js';
import { api, ApiError } from '../api.js';
import { Credentials } from '../components/credentials.js';
import { Empty, ErrorBox, Show } from '../components/status.js';
import { PagedTable } from '../components/table.js';
import { useLoad } from '../load.js';
import { formatTime } from '../time.js';
import type { CreatedDevice, Device, Measurement } from '../types.js';

const WEEK_MS = 7 * 86_400_000;

/**
 * The device's connections, disconnections (with why), status changes and
 * wills of the last week, newest first; read again when `since` (the newest
 * live reading) moves, as a device that publishes has just connected.
 */
export function DeviceEvents({ deviceId, since }: { deviceId: string; since: string | undefined }) {
  const loaded = useLoad(() => api.deviceEvents(deviceId, Date.now() - WEEK_MS), [deviceId, since], true);
  return (
    <Show loaded={loaded}>
      {(events) =>
        events.length === 0 ? (
          <Empty>No connection or status change in the last 7 days. A device that never connected has no events.</Empty>
        ) : (
          <PagedTable
            label="Events"
            rows={[...events].reverse()}
            rowKey={(e) => `${e.time}|${e.type}|${e.to ?? e.reason ?? ''}`}
            columns={[
              { title: 'Time', cell: (e) => formatTime(e.time) },
              { title: 'Event', cell: (e) => e.type },
              {
                title: 'Detail',
                cell: (e) =>
                  e.type === 'status' ? `${e.from ?? '?'} → ${e.to ?? '?'}` : e.type === 'will' ? <code>{e.payload ?? ''}</code> : (e.reason ?? ''),
              },
            ]}
          />
        )
      }
    </Show>
  );
}

/**
 * Rotate the device's MQTT secret (the new password shown once; the old one
 * stops working) or revoke the device (it can no longer connect). Offered only
 * to keys whose role may do either.
 */
export function ManageDevice({
  access,
  device,
  measurements,
  onChanged,
}: {
  access: Access;
  device: Device;
  measurements: readonly Measurement[];
  onChanged: () => void;
}) {
  const [rotated, setRotated] = useState<CreatedDevice | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const mayRotate = access.may('POST /v1/devices/{deviceId}/rotate-secret');
  const mayRevoke = access.may('POST /v1/devices/{deviceId}/revoke');
  if (device.revokedAt !== null || (!mayRotate && !mayRevoke)) return null;
  const act = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, 'CONSOLE', String(err)));
    } finally {
      setBusy(false);
    }
  };
  if (rotated) return <Credentials device={rotated} measurements={measurements} onDone={() => setRotated(null)} />;
  return (
    <section aria-labelledby="manage-title">
      <h2 id="manage-title">Credentials</h2>
      <div class="filters">
        {mayRotate && (
          <button type="button" disabled={busy} onClick={() => void act(async () => setRotated(await api.rotateSecret(device.id)))}>
            Rotate secret
          </button>
        )}
        {mayRevoke && !confirming && (
          <button type="button" class="danger" disabled={busy} onClick={() => setConfirming(true)}>
            Revoke device
          </button>
        )}
        {confirming && (
          <span role="group" aria-label="Confirm revocation">
            Revoke {device.name ?? device.id}? It is disconnected and can never connect again.{' '}
            <button
              type="button"
              class="danger"
              disabled={busy}
              onClick={() =>
                void act(async () => {
                  await api.revokeDevice(device.id);
                  setConfirming(false);
                  onChanged();
                })
              }
            >
              Yes, revoke
            </button>{' '}
            <button type="button" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </span>
        )}
      </div>
      {error && <ErrorBox error={error} />}
    </section>
  );
}
