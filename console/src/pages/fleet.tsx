import type { Access } from '../access.js';
import { api } from '../api.js';
import { DeviceMap } from '../components/map.js';
import { Empty, Show } from '../components/status.js';
import { PagedTable } from '../components/table.js';
import { useLoad } from '../load.js';
import { href, type FleetFilter } from '../router.js';
import { ago, formatTime } from '../time.js';
import type { FleetDevice, HealthStatus } from '../types.js';

const STATUSES: HealthStatus[] = ['ok', 'late', 'silent', 'never'];
const PAGE = 1000;
/** Past this many devices the view says so rather than load more into the browser. */
const MOST = 20_000;

/** Every device the filter selects, following the API's cursor a thousand at a time. */
async function loadFleet(filter: FleetFilter): Promise<{ devices: FleetDevice[]; more: boolean }> {
  const query = {
    status: filter.status,
    profile: filter.profile,
    pilotId: filter.pilot,
    testbedId: filter.testbed,
    batteryLow: filter.battery === 'low' ? 'true' : undefined,
    limit: PAGE,
  };
  const devices: FleetDevice[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.fleet({ ...query, cursor });
    devices.push(...page.devices);
    cursor = page.next;
  } while (cursor !== undefined && devices.length < MOST);
  return { devices, more: cursor !== undefined };
}

/**
 * The fleet: every device the key sees, with its health, filtered by status,
 * profile, pilot, testbed and low battery, as a list or a map. The filters are
 * the URL (`#/devices?status=silent&pilot=…`), so a view can be linked.
 */
export function Fleet({ access, filter }: { access: Access; filter: FleetFilter }) {
  const key = JSON.stringify(filter);
  const choices = useLoad(() => Promise.all([api.profiles(), api.pilots(), api.testbeds()]), []);
  const loaded = useLoad(() => loadFleet(filter), [key]);
  const settings = useLoad(() => api.settings(), []);
  const go = (change: Partial<FleetFilter>) => {
    location.hash = href({ page: 'devices', filter: { ...filter, ...change } });
  };
  const [profiles, pilots, testbeds] = choices.state === 'ready' ? choices.data : [[], [], []];
  const visibleTestbeds = access.me.testbedIds === null ? testbeds : testbeds.filter((t) => access.me.testbedIds?.includes(t.id));
  return (
    <main>
      <h1>Devices</h1>
      <form class="filters" aria-label="Device filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status{' '}
          <select value={filter.status ?? ''} onChange={(e) => go({ status: e.currentTarget.value || undefined })}>
            <option value="">Any status</option>
            {STATUSES.map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Profile{' '}
          <select value={filter.profile ?? ''} onChange={(e) => go({ profile: e.currentTarget.value || undefined })}>
            <option value="">Any profile</option>
            {profiles.map((p) => (
              <option value={p.id}>{p.name}</option>
            ))}
          </select>
        </label>
        <label>
          Pilot{' '}
          <select value={filter.pilot ?? ''} onChange={(e) => go({ pilot: e.currentTarget.value || undefined })}>
            <option value="">Any pilot</option>
            {pilots.map((p) => (
              <option value={p.id}>{p.name}</option>
            ))}
          </select>
        </label>
        {visibleTestbeds.length > 1 && (
          <label>
            Testbed{' '}
            <select value={filter.testbed ?? ''} onChange={(e) => go({ testbed: e.currentTarget.value || undefined })}>
              <option value="">Any testbed</option>
              {visibleTestbeds.map((t) => (
                <option value={t.id}>{t.name}</option>
              ))}
            </select>
          </label>
        )}
        <label>
          <input type="checkbox" checked={filter.battery === 'low'} onChange={(e) => go({ battery: e.currentTarget.checked ? 'low' : undefined })} /> Battery
          low
        </label>
        <div class="presets" role="group" aria-label="Show as">
          <button type="button" aria-pressed={filter.view !== 'map'} onClick={() => go({ view: undefined })}>
            List
          </button>
          <button type="button" aria-pressed={filter.view === 'map'} onClick={() => go({ view: 'map' })}>
            Map
          </button>
        </div>
      </form>
      <Show loaded={loaded}>
        {({ devices, more }) => {
          const counts = STATUSES.map((s) => `${devices.filter((d) => d.health.status === s).length} ${s}`).join(', ');
          if (devices.length === 0)
            return (
              <Empty>
                No device matches these filters. <a href={href({ page: 'devices', filter: {} })}>Show every device</a>.
              </Empty>
            );
          return (
            <>
              <p class="lead" aria-live="polite">
                {devices.length}
                {more ? '+' : ''} {devices.length === 1 ? 'device' : 'devices'}: {counts}.
              </p>
              {filter.view === 'map' ? (
                settings.state === 'ready' && <DeviceMap devices={devices} tileUrl={settings.data.tileUrl} />
              ) : (
                <PagedTable
                  label="Devices"
                  rows={devices}
                  rowKey={(d) => d.id}
                  columns={[
                    { title: 'Device', cell: (d) => <a href={href({ page: 'device', deviceId: d.id })}>{d.name ?? d.id}</a> },
                    { title: 'Status', cell: (d) => <span class={`badge ${d.health.status}`}>{d.health.status}</span> },
                    { title: 'Profile', cell: (d) => d.profile },
                    {
                      title: 'Pilot',
                      cell: (d) => <a href={href({ page: 'pilot', pilotId: d.pilotId })}>{pilots.find((p) => p.id === d.pilotId)?.name ?? d.pilotId}</a>,
                    },
                    {
                      title: 'Last reading',
                      cell: (d) => <span title={formatTime(d.health.lastReadingAt)}>{d.health.lastReadingAt ? ago(d.health.lastReadingAt) : 'none'}</span>,
                    },
                    { title: 'Battery', cell: (d) => (d.health.battery ? `${d.health.battery.value}${d.health.battery.low ? ' (low)' : ''}` : '–') },
                    { title: 'Connection', cell: (d) => (d.revokedAt ? 'revoked' : d.health.online ? 'online' : 'offline') },
                  ]}
                />
              )}
            </>
          );
        }}
      </Show>
    </main>
  );
}
