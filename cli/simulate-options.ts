import fs from 'node:fs';
import type { parseArgs } from 'node:util';
import type { ClientConfig } from '../core/index.js';
import { type ProfileCatalogue, PAYLOAD_FORMATS, type PayloadFormat } from '../device-profiles/index.js';
import {
  parseCredentials,
  type DeviceCredentials,
  SimulatorError,
  faultsSchema,
  type Faults,
  type TimeWindow,
  randomSeed,
  type SimulatedDevice,
  loadScenario,
  type Scenario,
} from '../simulators/index.js';

/**
 * The options of `testbed simulate`, checked all at once into a plan: where
 * the devices come from (a scenario, a pilot, a credentials file) and how
 * they run. Every problem is collected, so one message lists them all. What
 * the environment says comes parsed (`loadClientConfig`); options win over it.
 */
type SimulateEnv = ClientConfig;

export const OPTIONS = {
  profile: { type: 'string' },
  devices: { type: 'string' },
  rate: { type: 'string' },
  duration: { type: 'string' },
  count: { type: 'string' },
  qos: { type: 'string' },
  seed: { type: 'string' },
  'mqtt-url': { type: 'string' },
  ca: { type: 'string' },
  'api-url': { type: 'string' },
  key: { type: 'string' },
  pilot: { type: 'string' },
  credentials: { type: 'string' },
  scenario: { type: 'string' },
  speed: { type: 'string' },
  format: { type: 'string' },
  faults: { type: 'string' },
  'save-credentials': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

/** Where the devices come from. */
export type Source =
  | { kind: 'pilot'; pilotId: string; apiUrl: string; key: string; profile: string; devices: number; saveTo: string | undefined }
  | { kind: 'file'; devices: SimulatedDevice[] }
  | { kind: 'scenario'; scenario: Scenario; speed: number | undefined; pilotId: string | undefined; apiUrl: string; key: string; saveTo: string | undefined };

export interface Plan {
  source: Source;
  mqttUrl: string;
  /** PEM of the CA that signed the gateway's certificate (`--ca <file>`). */
  ca: Buffer | undefined;
  rate: number;
  durationMs: number | undefined;
  count: number | undefined;
  qos: 0 | 1;
  seed: number;
  format: PayloadFormat | undefined;
  faults: Faults | undefined;
  window: TimeWindow;
}

/** Checks every option; returns undefined after adding each problem to `problems`. */
export function makePlan(v: Values, env: SimulateEnv, profiles: ProfileCatalogue, problems: string[]): Plan | undefined {
  const number = (name: keyof Values, fallback: number | undefined, check: (n: number) => boolean, what: string): number | undefined => {
    const raw = v[name];
    if (raw === undefined) return fallback;
    const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    if (check(n)) return n;
    problems.push(`--${name} must be ${what}, not ${JSON.stringify(raw)}`);
    return undefined;
  };
  const wholeIn = (lo: number, hi: number) => (n: number) => Number.isInteger(n) && n >= lo && n <= hi;
  const devices = number('devices', undefined, wholeIn(1, 10_000), 'a whole number from 1 to 10000');
  const rate = number('rate', 1, (n) => n > 0 && n <= 1_000, 'a number of readings per second above 0 and at most 1000');
  const duration = number('duration', undefined, (n) => n > 0 && Number.isFinite(n), 'a positive number of seconds');
  const count = number('count', undefined, wholeIn(1, Number.MAX_SAFE_INTEGER), 'a positive whole number');
  const seed = number('seed', randomSeed(), wholeIn(0, 0xffffffff), 'a whole number from 0 to 4294967295');
  const qos =
    v.qos === undefined ? 1 : v.qos === '0' ? 0 : v.qos === '1' ? 1 : (problems.push(`--qos must be 0 or 1, not ${JSON.stringify(v.qos)}`), undefined);
  const mqttUrl = url(v['mqtt-url'] ?? env.mqttUrl, ['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:'], '--mqtt-url', problems);
  let ca: Buffer | undefined;
  if (v.ca !== undefined) {
    try {
      ca = fs.readFileSync(v.ca);
    } catch (err) {
      problems.push(`--ca ${v.ca}: ${(err as Error).message}`);
    }
  }
  const profileId = v.profile;
  if (profileId !== undefined && !profiles.has(profileId))
    problems.push(`unknown profile ${JSON.stringify(profileId)}; known: ${[...profiles.keys()].join(', ')}`);

  const speed = number('speed', undefined, (n) => n > 0 && n <= 10_000, 'a positive number up to 10000');
  const format =
    v.format === undefined
      ? undefined
      : (PAYLOAD_FORMATS as readonly string[]).includes(v.format)
        ? (v.format as PayloadFormat)
        : (problems.push(`--format must be ${PAYLOAD_FORMATS.join(', ')}, not ${JSON.stringify(v.format)}`), undefined);
  if (format && profileId !== undefined && profiles.get(profileId) && !profiles.get(profileId)!.profile.formats.includes(format)) {
    problems.push(`--format ${format}: profile ${profileId} accepts ${profiles.get(profileId)!.profile.formats.join(', ')}`);
  }
  const faults = v.faults === undefined ? undefined : parseFaults(v.faults, problems);

  let source: Source | undefined;
  if (v.pilot !== undefined && v.credentials !== undefined) problems.push('give either --pilot or --credentials, not both');
  else if (v.scenario !== undefined) source = scenarioSource(v, v.scenario, env, profiles, speed, problems);
  else if (v.pilot !== undefined) source = pilotSource(v, v.pilot, env, devices, problems);
  else if (v.credentials !== undefined) source = fileSource(v.credentials, profileId, profiles, devices, problems);
  else problems.push('give --scenario <name>, --pilot <id> to register new devices, or --credentials <file> to use existing ones');
  if (v['save-credentials'] !== undefined && v.pilot === undefined && v.scenario === undefined)
    problems.push('--save-credentials goes with --pilot or --scenario');
  if (v.speed !== undefined && v.scenario === undefined) problems.push('--speed goes with --scenario');
  const scenarioSeed = source?.kind === 'scenario' && v.seed === undefined ? source.scenario.seed : undefined;

  if (problems.length > 0 || !source || rate === undefined || seed === undefined || qos === undefined || !mqttUrl) return undefined;
  return {
    source,
    mqttUrl,
    ca,
    rate,
    durationMs: duration === undefined ? undefined : duration * 1_000,
    count,
    qos,
    seed: scenarioSeed ?? seed,
    format,
    faults,
    window: env.window,
  };
}

/** `malformed=0.05,outOfRange=0.02,skewSeconds=-40000000` -> faults. */
function parseFaults(text: string, problems: string[]): Faults | undefined {
  const raw: Record<string, number> = {};
  for (const part of text.split(',').filter(Boolean)) {
    const [key, value] = part.split('=');
    raw[key?.trim() ?? ''] = Number(value);
  }
  const parsed = faultsSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) problems.push(`--faults: ${issue.path.join('.') || '(all)'}: ${issue.message}`);
  return undefined;
}

function scenarioSource(
  v: Values,
  name: string,
  env: SimulateEnv,
  profiles: ProfileCatalogue,
  speed: number | undefined,
  problems: string[],
): Source | undefined {
  for (const option of ['profile', 'devices', 'credentials', 'format'] as const)
    if (v[option] !== undefined) problems.push(`--${option} does not go with --scenario: the scenario says`);
  let scenario: Scenario;
  try {
    scenario = loadScenario(name, profiles);
  } catch (err) {
    problems.push(err instanceof SimulatorError ? err.message : String(err));
    return undefined;
  }
  const apiUrl = url(v['api-url'] ?? env.apiUrl, ['http:', 'https:'], '--api-url', problems);
  const key = v.key ?? env.apiKey;
  if (!key) problems.push('--scenario needs an API key: the admin key (--key or TESTBED_API_KEY), or a company key with --pilot <id>');
  const saveTo = v['save-credentials'];
  if (saveTo !== undefined && fs.existsSync(saveTo)) problems.push(`--save-credentials ${saveTo} exists; name a new file`);
  if (!apiUrl || !key) return undefined;
  return { kind: 'scenario', scenario, speed, pilotId: v.pilot, apiUrl, key, saveTo };
}

function pilotSource(v: Values, pilotId: string, env: SimulateEnv, devices: number | undefined, problems: string[]): Source | undefined {
  const apiUrl = url(v['api-url'] ?? env.apiUrl, ['http:', 'https:'], '--api-url', problems);
  const key = v.key ?? env.apiKey;
  if (!key) problems.push('--pilot needs an API key: --key <key> or TESTBED_API_KEY');
  if (v.profile === undefined) problems.push('--pilot needs --profile <id>: the profile of the devices to register');
  const saveTo = v['save-credentials'];
  if (saveTo !== undefined && fs.existsSync(saveTo)) problems.push(`--save-credentials ${saveTo} exists; name a new file`);
  if (!apiUrl || !key || v.profile === undefined) return undefined;
  return { kind: 'pilot', pilotId, apiUrl, key, profile: v.profile, devices: devices ?? 3, saveTo };
}

function fileSource(
  file: string,
  profileId: string | undefined,
  profiles: ProfileCatalogue,
  devices: number | undefined,
  problems: string[],
): Source | undefined {
  let listed: DeviceCredentials[];
  try {
    listed = parseCredentials(fs.readFileSync(file, 'utf8'), file);
  } catch (err) {
    problems.push(err instanceof SimulatorError ? err.message : `cannot read ${file}: ${(err as Error).message}`);
    return undefined;
  }
  if (devices !== undefined && devices > listed.length) problems.push(`--devices ${devices}: ${file} lists only ${listed.length}`);
  const chosen: SimulatedDevice[] = [];
  for (const credentials of listed.slice(0, devices)) {
    const id = credentials.profile ?? profileId;
    const compiled = id === undefined ? undefined : profiles.get(id);
    if (compiled) chosen.push({ credentials, profile: compiled.profile });
    else if (id === undefined) problems.push(`${file}: device ${credentials.deviceId} names no profile; give --profile <id>`);
    else if (id !== profileId)
      problems.push(`${file}: device ${credentials.deviceId} has unknown profile ${JSON.stringify(id)}; known: ${[...profiles.keys()].join(', ')}`);
  }
  return { kind: 'file', devices: chosen };
}

function url(raw: string, protocols: string[], option: string, problems: string[]): string | undefined {
  try {
    const parsed = new URL(raw);
    if (protocols.includes(parsed.protocol)) return raw;
  } catch {
    // reported below
  }
  problems.push(`${option} must be a URL starting ${protocols.map((p) => `${p}//`).join(' or ')}, not ${JSON.stringify(raw)}`);
  return undefined;
}
