import type { FastifyRequest } from 'fastify';
import { TestbedError, type Device, type Pilot } from '../core/index.js';
import type { TestbedRegistry } from '../registry/index.js';
import type { CompiledProfile, ProfileCatalogue } from '../device-profiles/index.js';
import { noteTerms } from './open-data.js';
import { callerOf, noteTarget } from './plugins/auth.js';

/*
 * Lookups in the caller's scope that answer 404. An object outside the scope
 * gets exactly the answer a missing one does: same code, same message, and no
 * id echoed, so a key cannot learn whether an id exists outside its scope. Each
 * lookup records the object for the audit log.
 */

export const NO_PILOT = "No pilot with this id is visible to this API key; check the id, and that the key's scope includes the pilot";
export const NO_DEVICE = "No device with this id is visible to this API key; check the id, and that the key's scope includes the device";

export async function visiblePilot(request: FastifyRequest, registry: TestbedRegistry, id: string): Promise<Pilot> {
  const pilot = await registry.getPilot(callerOf(request).scope, id);
  if (!pilot) throw new TestbedError('TESTBED_NOT_FOUND', NO_PILOT);
  noteTarget(request, { companyId: pilot.companyId, testbedId: pilot.testbedId, pilotId: pilot.id });
  noteTerms(request, pilot);
  return pilot;
}

export async function visibleDevice(request: FastifyRequest, registry: TestbedRegistry, id: string): Promise<Device> {
  const device = await registry.getDevice(callerOf(request).scope, id);
  if (!device) throw new TestbedError('TESTBED_NOT_FOUND', NO_DEVICE);
  noteTarget(request, { companyId: device.companyId, testbedId: device.testbedId, pilotId: device.pilotId, deviceId: device.id });
  const pilot = await registry.getPilot(callerOf(request).scope, device.pilotId);
  if (pilot) noteTerms(request, pilot);
  return device;
}

/** The profile a new device names; 400 listing the known profiles otherwise. */
export function knownProfile(profiles: ProfileCatalogue, id: string): CompiledProfile {
  const profile = profiles.get(id);
  if (profile) return profile;
  throw new TestbedError('TESTBED_BAD_REQUEST', unknownProfileMessage(profiles, id), { field: 'profile', knownProfiles: knownProfiles(profiles) });
}

export const knownProfiles = (profiles: ProfileCatalogue): string[] => [...profiles.keys()].sort();

export const unknownProfileMessage = (profiles: ProfileCatalogue, id: string): string =>
  `Unknown profile "${id}"; known profiles: ${knownProfiles(profiles).join(', ')}`;
