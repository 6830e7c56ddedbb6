import { api, ApiError } from '../api.js';
import { Empty, ErrorBox } from '../components/status.js';
import { PagedTable } from '../components/table.js';
import { useLoad } from '../load.js';
import { formatTime } from '../time.js';

const DAY_MS = 86_400_000;

/** The device's payloads the gateway refused in the last week, newest first, with the code and reason it gave the device. */
export function Rejections({ deviceId }: { deviceId: string }) {
  const loaded = useLoad(() => api.deviceRejections(deviceId, { from: Date.now() - 7 * DAY_MS, limit: 1000 }), [deviceId]);
  if (loaded.state === 'loading') return <p class="loading">Loading…</p>;
  if (loaded.state === 'failed') {
    if (loaded.error instanceof ApiError && loaded.error.status === 403)
      return <Empty>This key may not read rejections (researcher keys read stored readings only).</Empty>;
    return <ErrorBox error={loaded.error} />;
  }
  const rows = [...loaded.data].reverse();
  if (rows.length === 0) return <Empty>No payload of this device was rejected in the last 7 days.</Empty>;
  return (
    <PagedTable
      label="Rejected payloads"
      rows={rows}
      rowKey={(r) => `${r.time}|${r.code}|${r.payload.slice(0, 40)}`}
      columns={[
        { title: 'Time', cell: (r) => formatTime(r.time) },
        { title: 'Code', cell: (r) => <code>{r.code}</code> },
        { title: 'Reason', cell: (r) => r.reason },
        {
          title: 'Payload',
          cell: (r) => <code class="payload">{r.payloadEncoding === 'base64' ? `(binary, ${r.payloadBytes} bytes) ${r.payload}` : r.payload}</code>,
        },
      ]}
    />
  );
}
