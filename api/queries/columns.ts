import { TestbedError, type Device } from '../../core/index.js';
import type { Measurement, ProfileCatalogue } from '../../device-profiles/index.js';

/** A measurement column of an answer, with the unit its values are in (from the devices' profiles). */
export interface Column {
  readonly name: string;
  /** The canonical unit; several, joined with ` | `, if profiles of these devices disagree. Undefined for a count. */
  readonly unit: string | undefined;
}

/** The measurements of the devices' profiles, profiles by id, measurements in profile order. */
function knownMeasurements(profiles: ProfileCatalogue, devices: readonly Device[]): Map<string, Measurement[]> {
  const known = new Map<string, Measurement[]>();
  for (const id of [...new Set(devices.map((d) => d.profile))].sort())
    for (const m of profiles.get(id)?.profile.measurements ?? []) known.set(m.name, [...(known.get(m.name) ?? []), m]);
  return known;
}

/**
 * The measurement columns of an export: the chosen ones, or every measurement
 * of the devices' profiles (profiles by id, measurements in profile order). A chosen measurement none of the
 * devices' profiles has is a 400 listing those it could have been.
 */
export function measurementColumns(profiles: ProfileCatalogue, devices: readonly Device[], chosen: readonly string[] | undefined): Column[] {
  const known = knownMeasurements(profiles, devices);
  const column = (name: string): Column => {
    const units = [...new Set((known.get(name) ?? []).map((m) => m.unit))];
    return { name, unit: units.length > 0 ? units.join(' | ') : undefined };
  };
  if (chosen === undefined) return [...known.keys()].map(column);
  const unknown = chosen.filter((m) => !known.has(m));
  if (unknown.length > 0 && known.size > 0) {
    const message = `Unknown measurement ${unknown.join(', ')}; these devices measure ${[...known.keys()].join(', ')}`;
    throw new TestbedError('TESTBED_BAD_REQUEST', message, [{ in: 'querystring', field: 'measurements', message }]);
  }
  return chosen.map(column);
}

/** A CSV header cell: the name, and the unit in brackets when there is one, e.g. `pm25 [µg/m³]`. */
export const headerOf = (c: Column): string => (c.unit === undefined ? c.name : `${c.name} [${c.unit}]`);
