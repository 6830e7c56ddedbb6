import { TestbedError, type Device } from '../../core/index.js';
import type { ProfileCatalogue } from '../../device-profiles/index.js';

/**
 * The measurement columns of an export: the chosen ones, or every measurement
 * of the devices' profiles (profiles by id, measurements in profile order). A chosen measurement none of the
 * devices' profiles has is a 400 listing those it could have been.
 */
export function measurementColumns(profiles: ProfileCatalogue, devices: readonly Device[], chosen: readonly string[] | undefined): string[] {
  const known = new Set<string>();
  for (const id of [...new Set(devices.map((d) => d.profile))].sort()) for (const m of profiles.get(id)?.profile.measurements ?? []) known.add(m.name);
  if (chosen === undefined) return [...known];
  const unknown = chosen.filter((m) => !known.has(m));
  if (unknown.length > 0 && known.size > 0) {
    const message = `Unknown measurement ${unknown.join(', ')}; these devices measure ${[...known].join(', ')}`;
    throw new TestbedError('TESTBED_BAD_REQUEST', message, [{ in: 'querystring', field: 'measurements', message }]);
  }
  return [...chosen];
}
