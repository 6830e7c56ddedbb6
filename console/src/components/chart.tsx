import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { ApiError, api } from '../api.js';
import { TIME_ZONE, axisTime, formatTime, formatValue } from '../time.js';
import type { Measurement } from '../types.js';
import { windowFor } from '../windows.js';
import { ErrorBox } from './status.js';

export interface Range {
  from: number;
  to: number;
}

type Series = [number[], (number | null)[]];

/**
 * Mean per window as uPlot columns (seconds), with a gap where the device was
 * silent for longer than `gapMs`, so that no line is drawn across silence.
 */
function toSeries(rows: { time: string; values: Record<string, number> }[], name: string, gapMs: number): Series {
  const xs: number[] = [];
  const ys: (number | null)[] = [];
  let last: number | undefined;
  for (const row of rows) {
    const t = Date.parse(row.time);
    const v = row.values[name];
    if (v === undefined) continue;
    if (last !== undefined && t - last > gapMs) {
      xs.push((last + 1) / 1000);
      ys.push(null);
    }
    xs.push(t / 1000);
    ys.push(v);
    last = t;
  }
  return [xs, ys];
}

/**
 * One measurement of one device over a range, from the aggregates route with a
 * window chosen for the range and the chart's width. Dragging across the chart
 * zooms: `onRange` gets the new range and the chart asks again, with a
 * shorter window.
 */
export function DeviceChart({
  deviceId,
  measurement,
  reportingMs,
  range,
  onRange,
}: {
  deviceId: string;
  measurement: Measurement;
  /** How often the profile says the device reports; a silence of three intervals breaks the line. */
  reportingMs: number | undefined;
  range: Range;
  onRange: (r: Range) => void;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const rangeNow = useRef(range);
  const zoom = useRef(onRange);
  zoom.current = onRange;
  rangeNow.current = range;
  const [status, setStatus] = useState<{ points: number; every: string } | { error: ApiError } | null>(null);
  const unit = measurement.unit;

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
          {
            label: `${measurement.name} (${unit})`,
            stroke: '#1f6feb',
            width: 1.5,
            value: (_u, v) => formatValue(v ?? undefined, unit),
          },
        ],
        axes: [{ values: (_u, splits) => splits.map((s) => axisTime(s * 1000, rangeNow.current)) }, { label: `${measurement.name} (${unit})`, size: 64 }],
        cursor: { drag: { x: true, y: false, setScale: false } },
        legend: { live: true },
        hooks: {
          setSelect: [
            (self) => {
              const { left, width } = self.select;
              if (width > 4) zoom.current({ from: self.posToVal(left, 'x') * 1000, to: self.posToVal(left + width, 'x') * 1000 });
              self.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            },
          ],
        },
      },
      [[], []],
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
  }, [measurement.name, unit]);

  useEffect(() => {
    const abort = new AbortController();
    const width = box.current?.clientWidth ?? 800;
    const { every, ms } = windowFor(range.to - range.from, width);
    setStatus(null);
    api.deviceAggregates(deviceId, { from: Math.floor(range.from), to: Math.ceil(range.to), every, measurements: measurement.name }, abort.signal).then(
      (answer) => {
        const data = toSeries(answer.aggregates, measurement.name, Math.max(ms * 1.5, (reportingMs ?? 0) * 3));
        plot.current?.setData(data);
        setStatus({ points: data[1].filter((v) => v !== null).length, every: answer.every });
      },
      (err: unknown) => {
        if (err instanceof ApiError) setStatus({ error: err });
      },
    );
    return () => abort.abort();
  }, [deviceId, measurement.name, reportingMs, range.from, range.to]);

  const points = status && 'points' in status ? status.points : 0;
  return (
    <figure class="chart">
      <div ref={box} class="chart-plot" data-points={points} aria-label={`Chart of ${measurement.name} in ${unit}`} role="img" />
      <figcaption>
        {status === null && 'Loading…'}
        {status && 'points' in status && status.points === 0 && 'No readings in this range: pick a longer range, or check that the device is publishing.'}
        {status && 'points' in status && status.points > 0 && `Mean over ${status.every} windows, ${status.points} points. Drag across the chart to zoom in.`}
        {status && 'error' in status && <ErrorBox error={status.error} />}
      </figcaption>
    </figure>
  );
}
