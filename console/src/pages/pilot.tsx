import { useState } from 'preact/hooks';
import { companyName, type Access } from '../access.js';
import { api } from '../api.js';
import { Empty, Show } from '../components/status.js';
import { PagedTable } from '../components/table.js';
import { useLoad } from '../load.js';
import { href } from '../router.js';
import { ago, formatTime } from '../time.js';
import type { Device } from '../types.js';
import { pilotState } from './pilots.js';
import { RegisterDevices } from './register.js';
import { PilotCharts } from './pilot-charts.js';

type StatusFilter = 'all' | 'online' | 'offline' | 'revoked';

function matches(d: Device, status: StatusFilter, profile: string, text: string): boolean {
  if (status === 'online' && !d.connection.online) return false;
  if (status === 'offline' && (d.connection.online || d.revokedAt !== null)) return false;
  if (status === 'revoked' && d.revokedAt === null) return false;
  if (profile && d.profile !== profile) return false;
  if (text && !`${d.id} ${d.name ?? ''} ${d.username}`.toLowerCase().includes(text)) return false;
  return true;
}

/** A pilot and its devices with their connection status, filtered and paged. */
export function PilotPage({ access, pilotId }: { access: Access; pilotId: string }) {
  // Bumped after a registration: the list loads again, keeping the page on screen meanwhile.
  const [version, setVersion] = useState(0);
  const loaded = useLoad(
    async () => {
      const [pilot, devices, testbeds] = await Promise.all([api.pilot(pilotId), api.pilotDevices(pilotId), api.testbeds()]);
      // Registered in one request, devices share a creation time: list them by name so that pages are stable.
      devices.sort((a, b) => (a.name ?? a.id).localeCompare(b.name ?? b.id, 'en', { numeric: true }));
      return [pilot, devices, testbeds] as const;
    },
    [pilotId, version],
    true,
  );
  // The latest readings fill their column once the list is on screen: the list does not wait for the store.
  const listed = loaded.state === 'ready';
  const latest = useLoad(() => (listed ? api.pilotLatest(pilotId) : new Promise<never>(() => {})), [pilotId, listed]);
  const [status, setStatus] = useState<StatusFilter>('all');
  const [profile, setProfile] = useState('');
  const [text, setText] = useState('');
  return (
    <main>
      <Show loaded={loaded}>
        {([pilot, devices, testbeds]) => {
          const latestOf = new Map(latest.state === 'ready' ? latest.data.map((r) => [r.deviceId, r.time]) : []);
          const profiles = [...new Set(devices.map((d) => d.profile))].sort();
          const shown = devices.filter((d) => matches(d, status, profile, text.trim().toLowerCase()));
          const online = devices.filter((d) => d.connection.online).length;
          return (
            <>
              <nav class="crumbs" aria-label="Breadcrumb">
                <a href={href({ page: 'pilots' })}>Pilots</a> / {pilot.name}
              </nav>
              <h1>{pilot.name}</h1>
              <dl class="facts">
                <div>
                  <dt>Company</dt>
                  <dd>{companyName(access, pilot.companyId)}</dd>
                </div>
                <div>
                  <dt>Testbed</dt>
                  <dd>{testbeds.find((t) => t.id === pilot.testbedId)?.name ?? pilot.testbedId}</dd>
                </div>
                <div>
                  <dt>State</dt>
                  <dd>{pilotState(pilot)}</dd>
                </div>
                <div>
                  <dt>Sharing</dt>
                  <dd>{pilot.sharing}</dd>
                </div>
                <div>
                  <dt>Period</dt>
                  <dd>
                    {pilot.startsAt ? formatTime(pilot.startsAt) : 'from registration'} →{' '}
                    {pilot.endedAt || pilot.endsAt ? formatTime(pilot.endedAt ?? pilot.endsAt) : 'open-ended'}
                  </dd>
                </div>
                <div>
                  <dt>Devices</dt>
                  <dd>
                    {devices.length}, {online} online
                  </dd>
                </div>
              </dl>
              {access.may('POST /v1/pilots/{pilotId}/devices') && pilot.endedAt === null && (
                <RegisterDevices pilotId={pilot.id} onRegistered={() => setVersion((v) => v + 1)} />
              )}
              <h2>Devices</h2>
              {devices.length === 0 ? (
                <Empty>
                  This pilot has no devices yet.{' '}
                  {access.may('POST /v1/pilots/{pilotId}/devices') ? 'Register one above; its MQTT credentials are shown once.' : 'Its company registers them.'}
                </Empty>
              ) : (
                <>
                  <div class="filters">
                    <label>
                      Status{' '}
                      <select value={status} onChange={(e) => setStatus(e.currentTarget.value as StatusFilter)}>
                        <option value="all">All</option>
                        <option value="online">Online</option>
                        <option value="offline">Offline</option>
                        <option value="revoked">Revoked</option>
                      </select>
                    </label>
                    <label>
                      Profile{' '}
                      <select value={profile} onChange={(e) => setProfile(e.currentTarget.value)}>
                        <option value="">All profiles</option>
                        {profiles.map((p) => (
                          <option value={p}>{p}</option>
                        ))}
                      </select>
                    </label>
                    <label>
                      Search <input type="search" value={text} onInput={(e) => setText(e.currentTarget.value)} placeholder="id or name" />
                    </label>
                    <span class="muted">
                      {shown.length} of {devices.length}
                    </span>
                  </div>
                  {shown.length === 0 ? (
                    <Empty>No device matches these filters.</Empty>
                  ) : (
                    <PagedTable
                      label="Devices"
                      rows={shown}
                      rowKey={(d) => d.id}
                      columns={[
                        { title: 'Device', cell: (d) => <a href={href({ page: 'device', deviceId: d.id })}>{d.name ?? d.id}</a> },
                        { title: 'Profile', cell: (d) => d.profile },
                        {
                          title: 'Status',
                          cell: (d) =>
                            d.revokedAt ? (
                              <span class="badge revoked">revoked</span>
                            ) : (
                              <span class={`badge ${d.connection.online ? 'online' : 'offline'}`}>{d.connection.online ? 'online' : 'offline'}</span>
                            ),
                        },
                        { title: 'Last seen', cell: (d) => <span title={formatTime(d.connection.lastSeen)}>{ago(d.connection.lastSeen)}</span> },
                        { title: 'Latest reading', cell: (d) => (latest.state === 'loading' ? '…' : formatTime(latestOf.get(d.id))) },
                      ]}
                    />
                  )}
                </>
              )}
              <PilotCharts pilotId={pilot.id} devices={devices} />
            </>
          );
        }}
      </Show>
    </main>
  );
}
