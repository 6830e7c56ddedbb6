import { TestbedError, type Scope } from '../../core/index.js';
import type { DeviceCounts, ErasureCheck, PilotSlice } from '../types.js';
import { firstResult, influxIdent, influxString, timeIs, whereOf } from './influxql.js';
import { MEASUREMENT } from './line-protocol.js';
import { errorText, query, REQUEST_TIMEOUT_MS, type InfluxServer } from './server.js';

const FROM = influxIdent(MEASUREMENT);
const pilotIs = (pilotId: string): string => `"pilot" = ${influxString(pilotId)}`;

/**
 * Per device, the largest of its field counts: InfluxQL counts values of each
 * field, not points, so a device's readings are at least its most frequent
 * measurement's count (exactly that when every reading carries it).
 */
export async function countReadings(server: InfluxServer, scope: Scope, slice: PilotSlice): Promise<DeviceCounts> {
  const where = whereOf(scope, { kind: 'pilot', pilotId: slice.pilotId });
  if (where === null) return {};
  const before = slice.before === undefined ? '' : ` AND ${timeIs('<', slice.before)}`;
  const body = await query(server, `SELECT count(*) FROM ${FROM} WHERE ${where}${before} GROUP BY "device"`);
  const counts: DeviceCounts = {};
  for (const s of firstResult(body).series ?? []) {
    const device = s.tags?.device;
    const cells = (s.values?.[0] ?? []).slice(1).filter((c): c is number => typeof c === 'number');
    if (device !== undefined && cells.length > 0) counts[device] = Math.max(...cells);
  }
  return counts;
}

/**
 * Deletes a pilot's points (older than `before`, when given). InfluxDB 1.x:
 * InfluxQL `DELETE`, and for a whole pilot `DROP SERIES` so its series leave
 * the index too. 2.x: the `/api/v2/delete` predicate API. 3.x cannot delete
 * points (only whole tables or databases): TESTBED_ERASE_UNSUPPORTED.
 */
export async function deleteReadings(server: InfluxServer, major: number | undefined, slice: PilotSlice): Promise<void> {
  if (major === 1) {
    const before = slice.before === undefined ? '' : ` AND ${timeIs('<', slice.before)}`;
    firstResult(await query(server, `DELETE FROM ${FROM} WHERE ${pilotIs(slice.pilotId)}${before}`, { method: 'POST' }));
    if (slice.before === undefined) firstResult(await query(server, `DROP SERIES FROM ${FROM} WHERE ${pilotIs(slice.pilotId)}`, { method: 'POST' }));
    return;
  }
  if (major === 2) return deleteV2(server, slice);
  throw new TestbedError(
    'TESTBED_ERASE_UNSUPPORTED',
    `InfluxDB ${major ?? 'of this version'} cannot delete points by tag (3.x deletes only whole tables or databases); erase the pilot's data there by hand`,
  );
}

/** InfluxDB 2.x: `POST /api/v2/delete` with a predicate on the measurement and the pilot tag. */
async function deleteV2(server: InfluxServer, slice: PilotSlice): Promise<void> {
  const params = new URLSearchParams({ bucket: server.bucket, ...(server.org ? { org: server.org } : {}) });
  const body = {
    start: '1677-09-21T00:12:43.145224194Z',
    stop: new Date(slice.before ?? Date.parse('2262-04-11T00:00:00Z')).toISOString(),
    predicate: `_measurement="${MEASUREMENT}" AND pilot="${slice.pilotId.replace(/["\\]/g, '\\$&')}"`,
  };
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (server.token) headers.authorization = `Token ${server.token}`;
  const res = await fetch(`${server.url}/api/v2/delete?${params}`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  }).catch((err: unknown) => {
    throw new Error(`InfluxDB did not answer the delete: ${errorText(err)}`);
  });
  if (!res.ok) throw new Error(`InfluxDB refused the delete: ${res.status} ${await res.text()}`);
}

/** Asks InfluxDB for any point and any series of the pilot: both must be none. */
export async function checkErased(server: InfluxServer, pilotId: string): Promise<ErasureCheck[]> {
  const points = `SELECT count(*) FROM ${FROM} WHERE ${pilotIs(pilotId)}`;
  const counted = firstResult(await query(server, points)).series ?? [];
  const found = counted.flatMap((s) => (s.values?.[0] ?? []).slice(1).filter((c): c is number => typeof c === 'number'));
  const series = `SHOW SERIES FROM ${FROM} WHERE ${pilotIs(pilotId)}`;
  const listed = firstResult(await query(server, series)).series ?? [];
  return [
    { store: 'influx', query: points, result: found.length === 0 ? 0 : Math.max(...found) },
    { store: 'influx', query: series, result: listed.reduce((n, s) => n + (s.values?.length ?? 0), 0) },
  ];
}
