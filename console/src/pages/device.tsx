import { useRef, useState } from 'preact/hooks';
import { companyName, type Access } from '../access.js';
import { api } from '../api.js';
import { DeviceChart, type Range } from '../components/chart.js';
import { DownloadButton } from '../components/download.js';
import { Empty, Show } from '../components/status.js';
import { useLoad } from '../load.js';
import { href } from '../router.js';
import { TIME_ZONE, ago, formatTime, formatValue } from '../time.js';
import type { FleetDevice, Profile } from '../types.js';
import { useLiveReadings } from '../live.js';
import { Rejections } from './rejections.js';
import { DeviceEvents, ManageDevice } from './device-manage.js';

const PRESETS: readonly [string, number][] = [
  ['1 h', 3_600_000],
  ['6 h', 21_600_000],
  ['24 h', 86_400_000],
  ['7 d', 7 * 86_400_000],
  ['30 d', 30 * 86_400_000],
];

const LIVE_REDRAW_MS = 5000;
const REREAD_MS = 2000;

const lastFor = (ms: number): Range => {
  const to = Date.now() + 60_000;
  return { from: to - ms, to };
};

/** A device: its status, latest values, a chart of one measurement at a time, and its rejected payloads. */
export function DevicePage({ access, deviceId }: { access: Access; deviceId: string }) {
  const [version, setVersion] = useState(0);
  const loaded = useLoad(
    async () => {
      const [device, profiles] = await Promise.all([api.device(deviceId) as Promise<FleetDevice>, api.profiles()]);
      const [pilot, latest] = await Promise.all([api.pilot(device.pilotId), api.pilotLatest(device.pilotId)]);
      return { device, pilotName: pilot.name, profile: profiles.find((p) => p.id === device.profile), latest: latest.find((r) => r.deviceId === device.id) };
    },
    [deviceId, version],
    true,
  );
  return (
    <main>
      <Show loaded={loaded}>{(loadedData) => <DeviceView access={access} {...loadedData} onChanged={() => setVersion((v) => v + 1)} />}</Show>
    </main>
  );
}

function DeviceView({
  access,
  device,
  pilotName,
  profile,
  latest,
  onChanged,
}: {
  access: Access;
  onChanged: () => void;
  device: FleetDevice;
  pilotName: string;
  profile: Profile | undefined;
  latest: { time: string; values: Record<string, number>; suspect?: string[] } | undefined;
}) {
  const measurements = profile?.measurements ?? [];
  const [chosen, setChosen] = useState(measurements[0]?.name ?? '');
  const [preset, setPreset] = useState(86_400_000);
  const [range, setRange] = useState<Range>(() => lastFor(86_400_000));
  const measurement = measurements.find((m) => m.name === chosen);
  const { health } = device;
  const [heard, setHeard] = useState(false);
  const reread = useRef(false);
  const status = heard ? 'ok' : health.status;
  // Live: the latest values follow the stream, and a chart showing "the last N" moves on with it (at most every few seconds).
  const [newest, setNewest] = useState(latest);
  const zoomed = useRef(false);
  const redrawn = useRef(0);
  useLiveReadings(device.pilotId, (reading) => {
    if (reading.deviceId !== device.id) return;
    setNewest((old) => (old && Date.parse(old.time) > Date.parse(reading.time) ? old : reading));
    // A reading that arrives now is one on time: the device is ok, whatever it was. Its record (last seen, events) is read
    // again a moment later, once the gateway has noted the reading.
    setHeard(true);
    if (!reread.current) {
      reread.current = true;
      setTimeout(onChanged, REREAD_MS);
    }
    if (!zoomed.current && Date.now() - redrawn.current > LIVE_REDRAW_MS) {
      redrawn.current = Date.now();
      setRange(lastFor(preset));
    }
  });
  const zoom = (r: Range) => {
    zoomed.current = true;
    setRange(r);
  };
  const connection = device.revokedAt ? 'revoked' : device.connection.online ? 'online' : 'offline';
  return (
    <>
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href={href({ page: 'pilots' })}>Pilots</a> / <a href={href({ page: 'pilot', pilotId: device.pilotId })}>{pilotName}</a> / {device.name ?? device.id}
      </nav>
      <h1>
        {device.name ?? device.id} <span class={`badge ${status}`}>{status}</span> <span class={`badge ${connection}`}>{connection}</span>
      </h1>
      <dl class="facts">
        <div>
          <dt>Health</dt>
          <dd>
            {status === 'never' ? 'no reading yet' : status}
            {health.lastReadingAt && `, last reading ${ago(health.lastReadingAt)}`}
          </dd>
        </div>
        {health.battery && (
          <div>
            <dt>Battery</dt>
            <dd>
              {health.battery.value}
              {health.battery.low && <span class="badge warn">low</span>}
            </dd>
          </div>
        )}
        <div>
          <dt>Device id</dt>
          <dd>
            <code>{device.id}</code>
          </dd>
        </div>
        <div>
          <dt>MQTT username</dt>
          <dd>
            <code>{device.username}</code>
          </dd>
        </div>
        <div>
          <dt>Profile</dt>
          <dd>{profile ? `${profile.name} (${profile.id})` : device.profile}</dd>
        </div>
        <div>
          <dt>Company</dt>
          <dd>{companyName(access, device.companyId)}</dd>
        </div>
        <div>
          <dt>Last seen</dt>
          <dd title={formatTime(device.connection.lastSeen)}>{ago(device.connection.lastSeen)}</dd>
        </div>
        <div>
          <dt>Registered</dt>
          <dd>{formatTime(device.createdAt)}</dd>
        </div>
      </dl>

      <h2>Latest values</h2>
      {newest ? (
        <>
          <p class="muted" aria-live="polite">
            At {formatTime(newest.time)}
          </p>
          <dl class="values">
            {measurements
              .filter((m) => newest.values[m.name] !== undefined)
              .map((m) => (
                <div key={m.name} class={newest.suspect?.includes(m.name) ? 'suspect' : undefined}>
                  <dt>{m.name}</dt>
                  <dd>
                    {formatValue(newest.values[m.name], m.unit)}
                    {newest.suspect?.includes(m.name) && <span class="badge warn">suspect</span>}
                  </dd>
                </div>
              ))}
          </dl>
        </>
      ) : (
        <Empty>No reading stored yet. The device publishes to devices/{device.id}/readings with its MQTT credentials.</Empty>
      )}

      <h2>Chart</h2>
      {measurement ? (
        <>
          <div class="filters">
            <label>
              Measurement{' '}
              <select value={chosen} onChange={(e) => setChosen(e.currentTarget.value)}>
                {measurements.map((m) => (
                  <option value={m.name}>
                    {m.name} ({m.unit})
                  </option>
                ))}
              </select>
            </label>
            <div class="presets" role="group" aria-label="Time range">
              {PRESETS.map(([label, ms]) => (
                <button
                  type="button"
                  aria-pressed={preset === ms}
                  onClick={() => {
                    zoomed.current = false;
                    setPreset(ms);
                    setRange(lastFor(ms));
                  }}
                >
                  {label}
                </button>
              ))}
            </div>
            <span class="muted">
              {formatTime(range.from)} – {formatTime(range.to)} ({TIME_ZONE})
            </span>
            <DownloadButton
              label="Download this range (CSV)"
              fileName={`${device.id}-${new Date(range.from).toISOString().slice(0, 16)}.csv`}
              load={() => api.deviceCsv(device.id, range.from, range.to)}
            />
          </div>
          <DeviceChart
            deviceId={device.id}
            measurement={measurement}
            reportingMs={profile?.reportingIntervalSeconds === undefined ? undefined : profile.reportingIntervalSeconds * 1000}
            range={range}
            onRange={zoom}
          />
        </>
      ) : (
        <Empty>This device's profile ({device.profile}) has no measurements this console knows of.</Empty>
      )}

      <h2>Connection events</h2>
      <DeviceEvents deviceId={device.id} since={newest?.time} />

      <h2>Rejected payloads</h2>
      <Rejections deviceId={device.id} />

      <ManageDevice access={access} device={device} measurements={measurements} onChanged={onChanged} />
    </>
  );
}
