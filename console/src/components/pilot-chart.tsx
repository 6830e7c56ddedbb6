import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { ApiError, get } from '../api.js';
import { TIME_ZONE, axisTime, formatTime, formatValue } from '../time.js';
import type { Aggregates, Device, Measurement } from '../types.js';
import { windowFor } from '../windows.js';
import type { Range } from './chart.js';
import { ErrorBox } from './status.js';

/** Distinct colours that keep their contrast on white, one per device. */
const COLOURS = ['#0b5cad', '#c62828', '#1a7f37', '#8250df', '#9a6700', '#0a7b83', '#bf3989', '#57606a'];
/** The most devices drawn in one chart: beyond that lines stop being told apart. */
export const MAX_SERIES = COLOURS.length;

/** The pilot's windows as uPlot columns: one time axis, one series a device, null where a device has no window. */
function columns(rows: Aggregates['aggregates'], devices: readonly Device[], name: string): uPlot.AlignedData {
  const times = [...new Set(rows.map((r) => Date.parse(r.time)))].sort((a, b) => a - b);
  const at = new Map(times.map((t, i) => [t, i]));
  const series = devices.map(() => new Array<number | null>(times.length).fill(null));
  const column = new Map(devices.map((d, i) => [d.id, series[i]!]));
  for (const r of rows) {
    const v = r.values[name];
    const col = column.get(r.deviceId);
    if (v !== undefined && col) col[at.get(Date.parse(r.time))!] = v;
  }
  return [times.map((t) => t / 1000), ...series];
}

/**
 * One measurement across several devices of a pilot, side by side on one time
 * axis, from the pilot's aggregates route with a window sized to the chart.
 */
export function PilotChart({ pilotId, devices, measurement, range }: { pilotId: string; devices: readonly Device[]; measurement: Measurement; range: Range }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const rangeNow = useRef(range);
  rangeNow.current = range;
  const [status, setStatus] = useState<{ points: number; every: string } | { error: ApiError } | null>(null);
  const ids = devices.map((d) => d.id).join();

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const u = new uPlot(
      {
        width: Math.max(300, el.clientWidth),
        height: 320,
        scales: { x: { time: true, range: () => [rangeNow.current.from / 1000, rangeNow.current.to / 1000] } },
        series: [
          { label: `Time (${TIME_ZONE})`, value: (_u, v) => (v === null ? '–' : formatTime(v * 1000)) },
          ...devices.map((d, i) => ({
            label: d.name ?? d.id,
            stroke: COLOURS[i],
            width: 1.5,
            value: (_u: uPlot, v: number | null) => formatValue(v ?? undefined, measurement.unit),
          })),
        ],
        axes: [
          { values: (_u, splits) => splits.map((s) => axisTime(s * 1000, rangeNow.current)) },
          { label: `${measurement.name} (${measurement.unit})`, size: 64 },
        ],
      },
      [[], ...devices.map(() => [])],
      el,
    );
    plot.current = u;
    const resize = new ResizeObserver(() => u.setSize({ width: Math.max(300, el.clientWidth), height: 320 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [ids, measurement.name, measurement.unit]);

  useEffect(() => {
    const abort = new AbortController();
    // Every device's windows come in one answer: keep the rows within the API's limit as well as a point per pixel.
    const width = Math.min(box.current?.clientWidth ?? 800, Math.floor(8000 / Math.max(1, devices.length)));
    const { every } = windowFor(range.to - range.from, width);
    setStatus(null);
    const query = { from: Math.floor(range.from), to: Math.ceil(range.to), every, measurements: measurement.name };
    get<Aggregates>(`/v1/pilots/${encodeURIComponent(pilotId)}/aggregates`, query, undefined, abort.signal).then(
      (answer) => {
        const shown = new Set(devices.map((d) => d.id));
        const rows = answer.aggregates.filter((r) => shown.has(r.deviceId) && r.values[measurement.name] !== undefined);
        plot.current?.setData(columns(rows, devices, measurement.name));
        setStatus({ points: rows.length, every: answer.every });
      },
      (err: unknown) => {
        if (err instanceof ApiError) setStatus({ error: err });
      },
    );
    return () => abort.abort();
  }, [pilotId, ids, measurement.name, range.from, range.to]);

  return (
    <figure class="chart">
      <div
        ref={box}
        class="chart-plot"
        data-points={status && 'points' in status ? status.points : 0}
        role="img"
        aria-label={`Chart of ${measurement.name} in ${measurement.unit} for ${devices.length} devices`}
      />
      <figcaption>
        {status === null && 'Loading…'}
        {status && 'points' in status && status.points === 0 && 'No readings of these devices in this range.'}
        {status && 'points' in status && status.points > 0 && `Mean over ${status.every} windows, ${status.points} points.`}
        {status && 'error' in status && <ErrorBox error={status.error} />}
      </figcaption>
    </figure>
  );
}
