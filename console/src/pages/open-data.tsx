import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { DeviceChart, type Range } from '../components/chart.js';
import { Empty, Show } from '../components/status.js';
import { PagedTable } from '../components/table.js';
import { useLoad } from '../load.js';
import { href } from '../router.js';
import { formatTime } from '../time.js';
import type { Dataset } from '../types.js';

const HOUR_MS = 3_600_000;
const WEEK_MS = 7 * 24 * HOUR_MS;

/** The licence with a link to its text where SPDX lists it. */
function Licence({ id }: { id: string | null }) {
  if (!id) return <>not stated</>;
  if (id.startsWith('LicenseRef-')) return <>{id}</>;
  return <a href={`https://spdx.org/licenses/${encodeURIComponent(id)}.html`}>{id}</a>;
}

/**
 * The open-data catalogue (`GET /v1/datasets`): without a key, the open pilots
 * only; with a research key, those shared with research too. Each data set
 * names its licence and attribution, which also head its CSV download.
 */
export function OpenData({ pilotId }: { pilotId?: string | undefined }) {
  const loaded = useLoad(() => Promise.all([api.datasets(), api.testbeds()]), []);
  return (
    <Show loaded={loaded}>
      {([datasets, testbeds]) => {
        const city = (id: string) => testbeds.find((t) => t.id === id)?.name ?? id;
        const chosen = pilotId === undefined ? undefined : datasets.find((d) => d.pilotId === pilotId);
        if (pilotId !== undefined)
          return chosen ? (
            <DatasetView dataset={chosen} city={city(chosen.testbedId)} />
          ) : (
            <Empty>No open data set has this id. Pick one from the catalogue.</Empty>
          );
        if (datasets.length === 0) return <Empty>No pilot publishes open data yet. A company opens a pilot's data with PATCH /v1/pilots/{'{pilotId}'}.</Empty>;
        return (
          <PagedTable
            label="Data sets"
            rows={datasets}
            rowKey={(d) => d.pilotId}
            columns={[
              { title: 'Data set', cell: (d) => <a href={href({ page: 'open', pilotId: d.pilotId })}>{d.name}</a> },
              { title: 'Testbed', cell: (d) => city(d.testbedId) },
              { title: 'Measures', cell: (d) => d.measurements.join(', ') || '–' },
              { title: 'Devices', cell: (d) => d.devices, numeric: true },
              { title: 'Coverage', cell: (d) => (d.coverage ? `${formatTime(d.coverage.from)} – ${formatTime(d.coverage.to)}` : 'no readings yet') },
              { title: 'Licence', cell: (d) => <Licence id={d.licence} /> },
              { title: 'Attribution', cell: (d) => d.attribution ?? '–' },
            ]}
          />
        );
      }}
    </Show>
  );
}

/** One data set: its terms, its devices, a chart of one device's measurement, and the download. */
function DatasetView({ dataset, city }: { dataset: Dataset; city: string }) {
  const loaded = useLoad(() => Promise.all([api.pilotDevices(dataset.pilotId), api.profiles()]), [dataset.pilotId]);
  const [deviceId, setDeviceId] = useState('');
  const [measurementName, setMeasurementName] = useState('');
  // The data set's whole coverage, with a margin (at least an hour in all); the last week when it has none yet.
  const [range, setRange] = useState<Range>(() => {
    if (!dataset.coverage) return { from: Date.now() - WEEK_MS, to: Date.now() };
    const from = Date.parse(dataset.coverage.from);
    const to = Date.parse(dataset.coverage.to);
    const margin = Math.max((to - from) / 20, HOUR_MS / 2);
    return { from: from - margin, to: to + margin };
  });
  return (
    <>
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href={href({ page: 'open' })}>Open data</a> / {dataset.name}
      </nav>
      <h2 class="title">{dataset.name}</h2>
      <dl class="facts">
        <div>
          <dt>Testbed</dt>
          <dd>{city}</dd>
        </div>
        <div>
          <dt>Licence</dt>
          <dd>
            <Licence id={dataset.licence} />
          </dd>
        </div>
        <div>
          <dt>Attribution</dt>
          <dd>{dataset.attribution ?? '–'}</dd>
        </div>
        <div>
          <dt>Coverage</dt>
          <dd>{dataset.coverage ? `${formatTime(dataset.coverage.from)} – ${formatTime(dataset.coverage.to)}` : 'no readings yet'}</dd>
        </div>
        <div>
          <dt>Profiles</dt>
          <dd>{dataset.profiles.join(', ') || '–'}</dd>
        </div>
      </dl>
      <p>
        <a class="button" href={dataset.download} download>
          Download all readings (CSV, licence on its first line)
        </a>
      </p>
      {dataset.citation && <p class="muted">Cite as: {dataset.citation}</p>}
      <Show loaded={loaded}>
        {([devices, profiles]) => {
          if (devices.length === 0) return <Empty>This data set has no devices yet.</Empty>;
          const device = devices.find((d) => d.id === deviceId) ?? devices[0]!;
          const measurements = profiles.find((p) => p.id === device.profile)?.measurements ?? [];
          const measurement = measurements.find((m) => m.name === measurementName) ?? measurements[0];
          return (
            <>
              <div class="filters">
                <label>
                  Device{' '}
                  <select value={device.id} onChange={(e) => setDeviceId(e.currentTarget.value)}>
                    {devices.map((d) => (
                      <option value={d.id}>{d.name ?? d.id}</option>
                    ))}
                  </select>
                </label>
                <label>
                  Measurement{' '}
                  <select value={measurement?.name ?? ''} onChange={(e) => setMeasurementName(e.currentTarget.value)}>
                    {measurements.map((m) => (
                      <option value={m.name}>
                        {m.name} ({m.unit})
                      </option>
                    ))}
                  </select>
                </label>
              </div>
              {measurement ? (
                <DeviceChart deviceId={device.id} measurement={measurement} reportingMs={undefined} range={range} onRange={setRange} />
              ) : (
                <Empty>This device's profile has no measurements to chart.</Empty>
              )}
            </>
          );
        }}
      </Show>
    </>
  );
}
