import { z } from 'zod';
import type { DeviceCredentials } from './credentials.js';
import { SimulatorError } from './errors.js';
import { ProvisionError, apiPost, registerDevice, withSlash } from './provision.js';
import type { PlannedDevice, Scenario } from './scenario.js';

/**
 * Registers a scenario's testbed through the HTTP API, in one of two ways:
 *
 * - with the admin key: a company per company the scenario names (and a
 *   company key for it, so its people can read their data), a pilot per
 *   pilot in the scenario's testbed, and the devices;
 * - with `pilotId` (and a key of that pilot's company, or the admin key):
 *   every device of the scenario in that existing pilot. A company rehearses
 *   its own pilot this way without an admin.
 */
export interface ScenarioProvisionOptions {
  readonly apiUrl: string;
  readonly apiKey: string;
  readonly scenario: Scenario;
  readonly plan: readonly PlannedDevice[];
  readonly pilotId?: string | undefined;
  readonly signal?: AbortSignal;
}

export interface ProvisionedScenario {
  readonly companies: readonly { readonly name: string; readonly id: string; readonly key: string }[];
  readonly pilots: readonly { readonly name: string; readonly id: string }[];
  /** In the order of the plan. */
  readonly devices: readonly DeviceCredentials[];
}

const withId = z.object({ id: z.string().min(1) });
const withKey = z.object({ key: z.string().min(1) });

export async function provisionScenario(o: ScenarioProvisionOptions): Promise<ProvisionedScenario> {
  const base = withSlash(o.apiUrl);
  const post = async <T>(path: string, body: unknown, schema: z.ZodType<T>, doing: string, action: string): Promise<T> => {
    const answer = schema.safeParse(await apiPost(new URL(path, base), o.apiKey, body, { doing, action }, { signal: o.signal }));
    if (!answer.success) throw new SimulatorError('api', `the API answered ${action} without what the simulator needs`);
    return answer.data;
  };

  const companies: { name: string; id: string; key: string }[] = [];
  let pilots: { name: string; id: string }[];
  if (o.pilotId !== undefined) pilots = o.scenario.pilots.map(() => ({ name: '(given)', id: o.pilotId! }));
  else {
    const companyOf = new Map<string, string>();
    for (const name of new Set(o.scenario.pilots.map((p) => p.company))) {
      const { id } = await post(
        'v1/companies',
        { name },
        withId,
        `creating company ${name}`,
        `create company ${name} (this needs the admin key; or give --pilot with a company key)`,
      );
      const { key } = await post(
        `v1/companies/${encodeURIComponent(id)}/keys`,
        { name: 'simulator' },
        withKey,
        `creating a key of ${name}`,
        `create a key for company ${name}`,
      );
      companies.push({ name, id, key });
      companyOf.set(name, id);
    }
    pilots = [];
    for (const pilot of o.scenario.pilots) {
      const body = { companyId: companyOf.get(pilot.company)!, testbedId: o.scenario.testbed, name: pilot.name };
      const { id } = await post('v1/pilots', body, withId, `creating pilot ${pilot.name}`, `create pilot ${pilot.name} in testbed ${o.scenario.testbed}`);
      pilots.push({ name: pilot.name, id });
    }
  }

  const devices: DeviceCredentials[] = [];
  for (const device of o.plan) {
    try {
      devices.push(
        await registerDevice({ apiUrl: o.apiUrl, apiKey: o.apiKey, pilotId: pilots[device.pilot]!.id, profile: device.profile, signal: o.signal }, device.name),
      );
    } catch (err) {
      // The devices made so far exist and their passwords are shown only once: hand them back.
      if (err instanceof SimulatorError) throw new ProvisionError(err, devices);
      throw err;
    }
  }
  return { companies, pilots, devices };
}
