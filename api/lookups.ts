import { TestbedError } from '../core/errors.js';
import type { Device, Pilot, Scope } from '../core/model.js';
import type { Registry } from '../core/registry/registry.js';
import type { CompiledProfile } from '../device-profiles/compile.js';
import type { ProfileCatalogue } from '../device-profiles/load.js';

/*
 * Lookups that answer 404. Another company's object gets exactly the answer a
 * missing one does: same code, same message, and no id echoed, so a key cannot
 * learn whether an id exists outside its scope.
 */

export function visiblePilot(registry: Registry, scope: Scope, id: string): Pilot {
  const pilot = registry.getPilot(scope, id);
  if (!pilot) throw new TestbedError('TESTBED_NOT_FOUND', 'No pilot with this id is visible to this API key; check the id and that the key belongs to the pilot\'s company');
  return pilot;
}

export function visibleDevice(registry: Registry, scope: Scope, id: string): Device {
  const device = registry.getDevice(scope, id);
  if (!device) throw new TestbedError('TESTBED_NOT_FOUND', 'No device with this id is visible to this API key; check the id and that the key belongs to the device\'s company');
  return device;
}

/** The profile a new device names; 400 listing the known profiles otherwise. */
export function knownProfile(profiles: ProfileCatalogue, id: string): CompiledProfile {
  const profile = profiles.get(id);
  if (profile) return profile;
  const known = [...profiles.keys()].sort();
  throw new TestbedError('TESTBED_BAD_REQUEST', `Unknown profile "${id}"; known profiles: ${known.join(', ')}`, {
    field: 'profile',
    knownProfiles: known,
  });
}
