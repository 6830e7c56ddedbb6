import { href } from '../router.js';
import type { FleetDevice, HealthStatus } from '../types.js';

const TILE = 256;
const WIDTH = 960;
const HEIGHT = 540;
const PAD = 40;

/** Colours by health status, each with enough contrast against the plain background. */
export const STATUS_COLOURS: Record<HealthStatus, string> = { ok: '#1a7f37', late: '#9a6700', silent: '#c62828', never: '#57606a' };

/** Web Mercator (EPSG:3857) in pixels of a world `TILE * 2^zoom` wide: the tile servers' grid, so tiles and markers line up. */
function project(lon: number, lat: number, zoom: number): [number, number] {
  const size = TILE * 2 ** zoom;
  const sin = Math.sin((Math.max(-85, Math.min(85, lat)) * Math.PI) / 180);
  return [((lon + 180) / 360) * size, (0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI)) * size];
}

/** The largest zoom (whole numbers when tiles are drawn) at which every point fits the view. */
function fit(points: [number, number][], whole: boolean): number {
  const max = 17;
  for (let z = max; z > 0; z -= whole ? 1 : 0.25) {
    const xy = points.map(([lon, lat]) => project(lon, lat, z));
    const w = Math.max(...xy.map((p) => p[0])) - Math.min(...xy.map((p) => p[0]));
    const h = Math.max(...xy.map((p) => p[1])) - Math.min(...xy.map((p) => p[1]));
    if (w <= WIDTH - 2 * PAD && h <= HEIGHT - 2 * PAD) return z;
  }
  return 0;
}

/**
 * Located devices as markers coloured by health status, on a plain background;
 * with a tile URL (`TESTBED_CONSOLE_TILE_URL`), on the tiles of that server
 * (nothing else is ever fetched). Each marker links to its device page, so the
 * map is usable from the keyboard, and the legend says what the colours mean.
 */
export function DeviceMap({ devices, tileUrl }: { devices: readonly FleetDevice[]; tileUrl: string | null }) {
  const located = devices.filter((d) => d.location !== null);
  if (located.length === 0)
    return <p class="empty">None of these devices has a location. Give one at registration or with PATCH /v1/devices/{'{deviceId}'}.</p>;
  const coords = located.map((d) => [d.location!.coordinates[0]!, d.location!.coordinates[1]!] as [number, number]);
  const zoom = fit(coords, tileUrl !== null);
  const xy = coords.map(([lon, lat]) => project(lon, lat, zoom));
  const cx = (Math.min(...xy.map((p) => p[0])) + Math.max(...xy.map((p) => p[0]))) / 2;
  const cy = (Math.min(...xy.map((p) => p[1])) + Math.max(...xy.map((p) => p[1]))) / 2;
  const left = cx - WIDTH / 2;
  const top = cy - HEIGHT / 2;
  const tiles: { x: number; y: number; url: string }[] = [];
  if (tileUrl !== null) {
    const n = 2 ** zoom;
    for (let tx = Math.floor(left / TILE); tx <= Math.floor((left + WIDTH) / TILE); tx++)
      for (let ty = Math.max(0, Math.floor(top / TILE)); ty <= Math.min(n - 1, Math.floor((top + HEIGHT) / TILE)); ty++) {
        const wrapped = ((tx % n) + n) % n;
        tiles.push({
          x: tx * TILE - left,
          y: ty * TILE - top,
          url: tileUrl.replace('{z}', String(zoom)).replace('{x}', String(wrapped)).replace('{y}', String(ty)),
        });
      }
  }
  const counts = new Map<HealthStatus, number>();
  for (const d of located) counts.set(d.health.status, (counts.get(d.health.status) ?? 0) + 1);
  return (
    <figure class="map">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="group" aria-label={`Map of ${located.length} located devices`} data-tiles={tiles.length}>
        <rect width={WIDTH} height={HEIGHT} class="map-ground" />
        {tiles.map((t) => (
          <image key={t.url} href={t.url} x={t.x} y={t.y} width={TILE} height={TILE} aria-hidden="true" />
        ))}
        {located.map((d, i) => (
          <a key={d.id} href={href({ page: 'device', deviceId: d.id })} aria-label={`${d.name ?? d.id}: ${d.health.status}`}>
            <circle cx={xy[i]![0] - left} cy={xy[i]![1] - top} r={7} fill={STATUS_COLOURS[d.health.status]} class={`marker ${d.health.status}`}>
              <title>{`${d.name ?? d.id}: ${d.health.status}`}</title>
            </circle>
          </a>
        ))}
      </svg>
      <figcaption>
        <ul class="legend">
          {(Object.keys(STATUS_COLOURS) as HealthStatus[]).map((s) => (
            <li key={s}>
              <svg width="12" height="12" aria-hidden="true">
                <circle cx="6" cy="6" r="5" fill={STATUS_COLOURS[s]} />
              </svg>{' '}
              {s}: {counts.get(s) ?? 0}
            </li>
          ))}
        </ul>
        {located.length < devices.length && <span class="muted">{devices.length - located.length} without a location are not shown.</span>}
        {tileUrl === null && <span class="muted"> Plain background: no map tiles are configured.</span>}
      </figcaption>
    </figure>
  );
}
