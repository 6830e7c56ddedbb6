import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { ApiError, api } from '../api.js';
import { TIME_ZONE, formatValue } from '../time.js';
import type { Measurement } from '../types.js';
import { windowFor } from '../windows.js';
import { ErrorBox } from './status.js';

export interface Range {
  from: number;
  to: number;
}

type Series = [number[], (number | null)[]];

/** Mean per window as uPlot columns (seconds), with a gap where windows are missing so no line is drawn across silence. */
function toSeries(rows: { time: string; values: Record<string, number> }[], name: string, everyMs: number): Series {
  const xs: number[] = [];
  const ys: (number | null)[] = [];
  let last: number | undefined;
  for (const row of rows) {
    const t = Date.parse(row.time);
    const v = row.values[name];
    if (v === undefined) continue;
    if (last !== undefined && t - last > everyMs * 1.5) {
      xs.push((last + everyMs) / 1000);
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
  range,
  onRange,
}: {
  deviceId: string;
  measurement: Measurement;
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
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), TIME_ZONE),
        scales: { x: { time: true, range: () => [rangeNow.current.from / 1000, rangeNow.current.to / 1000] } },
        series: [
          { label: `Time (${TIME_ZONE})` },
          {
            label: `${measurement.name} (${unit})`,
            stroke: '#1f6feb',
            width: 1.5,
            points: { show: false },
            value: (_u, v) => formatValue(v ?? undefined, unit),
          },
        ],
        axes: [{}, { label: `${measurement.name} (${unit})`, size: 64 }],
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
        const data = toSeries(answer.aggregates, measurement.name, ms);
        plot.current?.setData(data);
        setStatus({ points: data[0].length, every: answer.every });
      },
      (err: unknown) => {
        if (err instanceof ApiError) setStatus({ error: err });
      },
    );
    return () => abort.abort();
  }, [deviceId, measurement.name, range.from, range.to]);

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
