import { useRef, useState } from 'preact/hooks';
import { api, get } from '../api.js';
import type { Range } from '../components/chart.js';
import { DownloadButton } from '../components/download.js';
import { MAX_SERIES, PilotChart } from '../components/pilot-chart.js';
import { Show } from '../components/status.js';
import { useLiveReadings } from '../live.js';
import { useLoad } from '../load.js';
import { TIME_ZONE, formatTime } from '../time.js';
import type { Device } from '../types.js';

const PRESETS: readonly [string, number][] = [
  ['1 h', 3_600_000],
  ['24 h', 86_400_000],
  ['7 d', 7 * 86_400_000],
  ['30 d', 30 * 86_400_000],
];
const LIVE_REDRAW_MS = 5000;
const lastFor = (ms: number): Range => {
  const to = Date.now() + 60_000;
  return { from: to - ms, to };
};

/**
 * A pilot's devices side by side: one measurement across the devices of one
 * profile (the first eight), over a chosen range that follows the live stream;
 * the shown range of the whole pilot can be downloaded as CSV.
 */
export function PilotCharts({ pilotId, devices }: { pilotId: string; devices: readonly Device[] }) {
  const profiles = useLoad(() => api.profiles(), []);
  const kinds = [...new Set(devices.map((d) => d.profile))].sort();
  const [profileId, setProfileId] = useState(kinds[0] ?? '');
  const [name, setName] = useState('');
  const [preset, setPreset] = useState(86_400_000);
  const [range, setRange] = useState<Range>(() => lastFor(86_400_000));
  const redrawn = useRef(0);
  const of = devices.filter((d) => d.profile === profileId && d.revokedAt === null);
  const shown = of.slice(0, MAX_SERIES);
  useLiveReadings(pilotId, (reading) => {
    if (!shown.some((d) => d.id === reading.deviceId) || Date.now() - redrawn.current < LIVE_REDRAW_MS) return;
    redrawn.current = Date.now();
    setRange(lastFor(preset));
  });
  if (kinds.length === 0) return null;
  return (
    <section aria-labelledby="pilot-chart-title">
      <h2 id="pilot-chart-title">Devices side by side</h2>
      <Show loaded={profiles}>
        {(list) => {
          const measurements = list.find((p) => p.id === profileId)?.measurements ?? [];
          const measurement = measurements.find((m) => m.name === name) ?? measurements[0];
          return (
            <>
              <div class="filters">
                <label>
                  Devices of profile{' '}
                  <select value={profileId} onChange={(e) => setProfileId(e.currentTarget.value)}>
                    {kinds.map((k) => (
                      <option value={k}>{k}</option>
                    ))}
                  </select>
                </label>
                <label>
                  Measurement{' '}
                  <select value={measurement?.name ?? ''} onChange={(e) => setName(e.currentTarget.value)}>
                    {measurements.map((m) => (
                      <option value={m.name}>
                        {m.name} ({m.unit})
                      </option>
                    ))}
                  </select>
                </label>
                <div class="presets" role="group" aria-label="Pilot chart range">
                  {PRESETS.map(([label, ms]) => (
                    <button
                      type="button"
                      aria-pressed={preset === ms}
                      onClick={() => {
                        setPreset(ms);
                        setRange(lastFor(ms));
                      }}
                    >
                      {label}
                    </button>
                  ))}
                </div>
                <DownloadButton
                  label="Download the pilot's range (CSV)"
                  fileName={`${pilotId}-${new Date(range.from).toISOString().slice(0, 16)}.csv`}
                  load={() =>
                    get<string>(`/v1/pilots/${encodeURIComponent(pilotId)}/readings`, { format: 'csv', from: Math.floor(range.from), to: Math.ceil(range.to) })
                  }
                />
              </div>
              <p class="muted">
                {formatTime(range.from)} – {formatTime(range.to)} ({TIME_ZONE});{' '}
                {shown.length < of.length ? `the first ${shown.length} of ${of.length} devices` : `${shown.length} devices`}.
              </p>
              {measurement && <PilotChart pilotId={pilotId} devices={shown} measurement={measurement} range={range} />}
            </>
          );
        }}
      </Show>
    </section>
  );
}
