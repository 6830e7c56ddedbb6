import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { PAYLOAD_FORMATS, type PayloadFormat, type Profile } from '../device-profiles/index.js';
import { SimulatorError } from './errors.js';
import type { DeviceCredentials } from './credentials.js';
import { faultsSchema, type Faults } from './faults.js';
import { batteryOf, deviceModeSchema, type DeviceMode } from './modes.js';
import type { SimulatedDevice } from './run.js';

/**
 * A scenario: a whole testbed to simulate, as data. Which companies run which
 * pilots in which city, with which devices of which profiles, in which
 * payload formats, how often they report and what goes wrong with them (fault
 * rates, and standing fault modes per device group). One
 * file per city in `simulators/scenarios/`; `testbed simulate --scenario`
 * provisions it through the API and runs it, `testbed demo` runs Helsinki's.
 */
const deviceGroupSchema = z
  .object({
    profile: z.string().min(1),
    /** How many devices of this kind (default 1). */
    count: z.number().int().min(1).max(1000).default(1),
    /** Their name; several are numbered: "Kalasatama lamp post 1", "... 2". */
    name: z.string().min(1).max(150),
    /** Payload format (default: the profile's first). Several: the devices take turns. */
    format: z.union([z.enum(PAYLOAD_FORMATS), z.array(z.enum(PAYLOAD_FORMATS)).min(1)]).optional(),
    /** Seconds between readings before `speed` (default: the profile's reporting interval). */
    everySeconds: z.number().positive().optional(),
    /** Send values in their first declared alternative unit (°F, km/h, mV...) for the gateway to convert. */
    units: z.enum(['canonical', 'alternative']).default('canonical'),
    /** These devices' faults, instead of the scenario's. */
    faults: faultsSchema.optional(),
    /** A standing fault of these devices (modes.ts): silent, battery-drain, flapping or garbage. */
    mode: deviceModeSchema.optional(),
  })
  .strict();

const pilotSchema = z
  .object({
    name: z.string().min(1).max(200),
    /** The company running it; pilots naming the same company share one. */
    company: z.string().min(1).max(200),
    description: z.string().optional(),
    devices: z.array(deviceGroupSchema).min(1),
  })
  .strict();

export const scenarioSchema = z
  .object({
    scenarioVersion: z.literal(1),
    name: z.string().min(1),
    description: z.string().optional(),
    /** The testbed (city) every pilot runs in; the devices share its weather. */
    testbed: z.string().min(1),
    /** Seed of every signal and fault (testbed simulate --seed overrides it). */
    seed: z.number().int().min(0).max(0xffffffff).optional(),
    /** Reporting runs this many times faster than real (default 1): 60 makes a one-minute interval one second. */
    speed: z.number().positive().max(10_000).default(1),
    /** Faults of every device that names none of its own (default none). */
    faults: faultsSchema.optional(),
    pilots: z.array(pilotSchema).min(1),
  })
  .strict();

export type Scenario = z.infer<typeof scenarioSchema>;

/** One device of a scenario, ready to register and run. */
export interface PlannedDevice {
  readonly pilot: number;
  readonly name: string;
  readonly profile: string;
  readonly format: PayloadFormat;
  /** Readings per second. */
  readonly rate: number;
  readonly units: 'canonical' | 'alternative';
  readonly faults: Faults | undefined;
  readonly mode: DeviceMode | undefined;
}

/** The scenarios that ship with the package: `simulators/scenarios/` in the source tree. */
export function bundledScenariosDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return path.join(dir, 'simulators', 'scenarios');
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the package root to load scenarios from');
    dir = parent;
  }
}

/** A file, or the name of a bundled scenario (`helsinki`). */
export function scenarioFile(nameOrFile: string): string {
  if (/^[a-z][a-z0-9-]*$/.test(nameOrFile) && !fs.existsSync(nameOrFile)) return path.join(bundledScenariosDir(), `${nameOrFile}.json`);
  return nameOrFile;
}

/** Reads and checks a scenario against the profiles; one SimulatorError lists every problem. */
export function loadScenario(nameOrFile: string, profiles: ReadonlyMap<string, { readonly profile: Profile }>): Scenario {
  const file = scenarioFile(nameOrFile);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new SimulatorError('bad-input', `cannot read scenario ${file}: ${(err as Error).message}`);
  }
  const parsed = scenarioSchema.safeParse(raw);
  const problems = parsed.success ? scenarioProblems(parsed.data, profiles) : parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
  if (problems.length > 0) throw new SimulatorError('bad-input', `scenario ${file} is invalid:\n  ${problems.join('\n  ')}`);
  return parsed.data!;
}

/** What the schema cannot check: profiles that exist and formats they take. */
export function scenarioProblems(s: Scenario, profiles: ReadonlyMap<string, { readonly profile: Profile }>): string[] {
  const problems: string[] = [];
  s.pilots.forEach((pilot, p) =>
    pilot.devices.forEach((group, g) => {
      const where = `pilots.${p}.devices.${g}`;
      const profile = profiles.get(group.profile)?.profile;
      if (!profile) return problems.push(`${where}.profile: unknown profile ${JSON.stringify(group.profile)}; known: ${[...profiles.keys()].join(', ')}`);
      if (group.mode === 'battery-drain' && !batteryOf(profile)) problems.push(`${where}.mode: ${group.profile} declares no battery (health.battery) to drain`);
      for (const format of [group.format ?? []].flat()) {
        if (!profile.formats.includes(format)) problems.push(`${where}.format: ${group.profile} accepts ${profile.formats.join(', ')}, not ${format}`);
      }
      return undefined;
    }),
  );
  return problems;
}

/** Expands a scenario into its devices, in order; `speed` overrides the scenario's. */
export function planScenario(s: Scenario, profiles: ReadonlyMap<string, { readonly profile: Profile }>, speed = s.speed): PlannedDevice[] {
  const planned: PlannedDevice[] = [];
  s.pilots.forEach((pilot, p) => {
    for (const group of pilot.devices) {
      const profile = profiles.get(group.profile)!.profile;
      const formats = [group.format ?? profile.formats[0]!].flat();
      const every = group.everySeconds ?? profile.reportingIntervalSeconds;
      for (let i = 0; i < group.count; i++) {
        planned.push({
          pilot: p,
          name: group.count === 1 ? group.name : `${group.name} ${i + 1}`,
          profile: group.profile,
          format: formats[i % formats.length]!,
          rate: speed / every,
          units: group.units,
          faults: group.faults ?? s.faults,
          mode: group.mode,
        });
      }
    }
  });
  return planned;
}

/** The scenario's planned devices with their registered credentials (in plan order), as the simulation runs them. */
export function simulatedDevices(
  credentials: readonly DeviceCredentials[],
  plan: readonly PlannedDevice[],
  profiles: ReadonlyMap<string, { readonly profile: Profile }>,
  city: string,
): SimulatedDevice[] {
  return credentials.map((c, i) => {
    const d = plan[i]!;
    return {
      credentials: c,
      profile: profiles.get(d.profile)!.profile,
      format: d.format,
      rate: d.rate,
      units: d.units,
      city,
      ...(d.faults ? { faults: d.faults } : {}),
      ...(d.mode ? { mode: d.mode } : {}),
    };
  });
}
