import fs from 'node:fs';
import { parseArgs } from 'node:util';
import type { ProfileCatalogue } from '../device-profiles/load.js';
import { loadProfiles } from '../device-profiles/load.js';
import { parseCredentials, type DeviceCredentials } from '../simulators/credentials.js';
import { SimulatorError } from '../simulators/errors.js';
import { ProvisionError, provisionDevices } from '../simulators/provision.js';
import { randomSeed } from '../simulators/random.js';
import { createProgressReporter } from '../simulators/reporter.js';
import { runSimulation, type SimulatedDevice } from '../simulators/run.js';

/** Where the command writes and what it reads; the composition root passes the process's. */
export interface SimulateIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: Record<string, string | undefined>;
  /** Stops the run as SIGINT does (for callers that embed the command). */
  readonly signal?: AbortSignal;
}

const USAGE = `Usage: testbed simulate [options]

Runs virtual devices that publish plausible readings to a gateway over MQTT.

Devices, one of:
  --pilot <id>              register new devices in this pilot through the API
                            (needs --profile and an API key)
  --credentials <file>      use existing devices: a JSON array of
                            { "deviceId", "username", "password", "profile" }

Options:
  --profile <id>            device profile (required with --pilot; with
                            --credentials, for entries that name none)
  --devices <n>             how many devices (default 3; with --credentials,
                            the first n of the file, default all)
  --rate <r>                readings per second per device (default 1)
  --duration <s>            stop after s seconds
  --count <n>               stop after n readings per device
                            (neither: run until Ctrl-C; both: whichever first)
  --qos <0|1>               QoS of the readings (default 1)
  --seed <n>                seed of the signals, to repeat a run (default random)
  --mqtt-url <url>          default mqtt://127.0.0.1:$TESTBED_MQTT_PORT (1883)
  --api-url <url>           default http://127.0.0.1:$TESTBED_HTTP_PORT (8080)
  --key <key>               API key for --pilot (default $TESTBED_API_KEY)
  --save-credentials <file> with --pilot, write the new devices' credentials
                            to a new file (their passwords are shown only once)
  --help                    show this help

Exit status: 0 when every reading went through, 1 when something failed or a
reading was rejected, 2 for bad options.
`;

const OPTIONS = {
  profile: { type: 'string' },
  devices: { type: 'string' },
  rate: { type: 'string' },
  duration: { type: 'string' },
  count: { type: 'string' },
  qos: { type: 'string' },
  seed: { type: 'string' },
  'mqtt-url': { type: 'string' },
  'api-url': { type: 'string' },
  key: { type: 'string' },
  pilot: { type: 'string' },
  credentials: { type: 'string' },
  'save-credentials': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

/** Where the devices come from. */
type Source =
  | { kind: 'pilot'; pilotId: string; apiUrl: string; key: string; profile: string; devices: number; saveTo: string | undefined }
  | { kind: 'file'; devices: SimulatedDevice[] };

interface Plan {
  source: Source;
  mqttUrl: string;
  rate: number;
  durationMs: number | undefined;
  count: number | undefined;
  qos: 0 | 1;
  seed: number;
}

/** `testbed simulate`: returns the exit status. */
export async function simulateCommand(argv: string[], io: SimulateIo): Promise<number> {
  let values: Values;
  try {
    values = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (err) {
    return usageError(io, [(err as Error).message]);
  }
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  let profiles: ProfileCatalogue;
  try {
    profiles = loadProfiles();
  } catch (err) {
    io.stderr.write(`testbed simulate: ${(err as Error).message}\n`);
    return 1;
  }
  const problems: string[] = [];
  const plan = makePlan(values, io.env, profiles, problems);
  if (!plan) return usageError(io, problems);

  const stop = new AbortController();
  const onSigint = () => {
    io.stderr.write('\nStopping (Ctrl-C again to quit at once)...\n');
    stop.abort();
  };
  process.once('SIGINT', onSigint);
  const signal = io.signal ? AbortSignal.any([io.signal, stop.signal]) : stop.signal;
  try {
    const devices = plan.source.kind === 'file' ? plan.source.devices : await provision(plan.source, profiles, io, signal);
    return await simulate(plan, devices, io, signal);
  } catch (err) {
    if (!(err instanceof SimulatorError)) throw err;
    io.stderr.write(`testbed simulate: ${err.message}\n`);
    return err.kind === 'aborted' ? 130 : 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

function usageError(io: SimulateIo, problems: string[]): number {
  io.stderr.write(`testbed simulate: ${problems.join('\n  ')}\nRun testbed simulate --help for the options.\n`);
  return 2;
}

async function simulate(plan: Plan, devices: SimulatedDevice[], io: SimulateIo, signal: AbortSignal): Promise<number> {
  const names = [...new Set(devices.map((d) => d.profile.id))].join(', ');
  const until = [plan.durationMs && `for ${plan.durationMs / 1000} s`, plan.count && `${plan.count} readings each`].filter(Boolean).join(' or ');
  io.stderr.write(
    `Simulating ${devices.length} ${names} device${devices.length === 1 ? '' : 's'} on ${plan.mqttUrl}: ` +
      `${plan.rate} reading${plan.rate === 1 ? '' : 's'}/s each, QoS ${plan.qos}, ${until || 'until Ctrl-C'}, seed ${plan.seed}\n`,
  );
  const reporter = createProgressReporter(io.stderr);
  const summary = await runSimulation({
    url: plan.mqttUrl,
    devices,
    rate: plan.rate,
    durationMs: plan.durationMs,
    count: plan.count,
    qos: plan.qos,
    seed: plan.seed,
    signal,
    onProgress: (s) => reporter.progress(s),
  });
  reporter.summary(summary, io.stdout);
  const rejected = Object.values(summary.rejected).reduce((a, b) => a + b, 0);
  return summary.errors > 0 || rejected > 0 ? 1 : 0;
}

async function provision(source: Extract<Source, { kind: 'pilot' }>, profiles: ProfileCatalogue, io: SimulateIo, signal: AbortSignal): Promise<SimulatedDevice[]> {
  const profile = profiles.get(source.profile)!.profile;
  let made: DeviceCredentials[];
  try {
    made = await provisionDevices({ apiUrl: source.apiUrl, apiKey: source.key, pilotId: source.pilotId, profile: source.profile, count: source.devices, signal });
  } catch (err) {
    if (err instanceof ProvisionError && err.provisioned.length > 0) save(err.provisioned, source, io);
    throw err;
  }
  io.stderr.write(`Registered ${made.length} device${made.length === 1 ? '' : 's'} in pilot ${source.pilotId}: ${made.map((d) => d.deviceId).join(', ')}\n`);
  save(made, source, io);
  return made.map((credentials) => ({ credentials, profile }));
}

function save(made: readonly DeviceCredentials[], source: Extract<Source, { kind: 'pilot' }>, io: SimulateIo): void {
  if (source.saveTo === undefined) {
    io.stderr.write('Their passwords are not kept; pass --save-credentials <file> to reuse devices.\n');
    return;
  }
  fs.writeFileSync(source.saveTo, `${JSON.stringify(made, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  io.stderr.write(`Saved their credentials to ${source.saveTo} (use it with --credentials).\n`);
}

/** Checks every option; returns undefined after adding each problem to `problems`. */
function makePlan(v: Values, env: SimulateIo['env'], profiles: ProfileCatalogue, problems: string[]): Plan | undefined {
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
  const qos = v.qos === undefined ? 1 : v.qos === '0' ? 0 : v.qos === '1' ? 1 : (problems.push(`--qos must be 0 or 1, not ${JSON.stringify(v.qos)}`), undefined);
  const mqttUrl = url(v['mqtt-url'] ?? `mqtt://127.0.0.1:${env.TESTBED_MQTT_PORT || 1883}`, ['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:'], '--mqtt-url', problems);
  const profileId = v.profile;
  if (profileId !== undefined && !profiles.has(profileId)) problems.push(`unknown profile ${JSON.stringify(profileId)}; known: ${[...profiles.keys()].join(', ')}`);

  let source: Source | undefined;
  if (v.pilot !== undefined && v.credentials !== undefined) problems.push('give either --pilot or --credentials, not both');
  else if (v.pilot !== undefined) source = pilotSource(v, v.pilot, env, devices, problems);
  else if (v.credentials !== undefined) source = fileSource(v.credentials, profileId, profiles, devices, problems);
  else problems.push('give --pilot <id> to register new devices, or --credentials <file> to use existing ones');
  if (v['save-credentials'] !== undefined && v.pilot === undefined) problems.push('--save-credentials goes with --pilot');

  if (problems.length > 0 || !source || rate === undefined || seed === undefined || qos === undefined || !mqttUrl) return undefined;
  return { source, mqttUrl, rate, durationMs: duration === undefined ? undefined : duration * 1_000, count, qos, seed };
}

function pilotSource(v: Values, pilotId: string, env: SimulateIo['env'], devices: number | undefined, problems: string[]): Source | undefined {
  const apiUrl = url(v['api-url'] ?? `http://127.0.0.1:${env.TESTBED_HTTP_PORT || 8080}`, ['http:', 'https:'], '--api-url', problems);
  const key = v.key ?? env.TESTBED_API_KEY;
  if (!key) problems.push('--pilot needs an API key: --key <key> or TESTBED_API_KEY');
  if (v.profile === undefined) problems.push('--pilot needs --profile <id>: the profile of the devices to register');
  const saveTo = v['save-credentials'];
  if (saveTo !== undefined && fs.existsSync(saveTo)) problems.push(`--save-credentials ${saveTo} exists; name a new file`);
  if (!apiUrl || !key || v.profile === undefined) return undefined;
  return { kind: 'pilot', pilotId, apiUrl, key, profile: v.profile, devices: devices ?? 3, saveTo };
}

function fileSource(file: string, profileId: string | undefined, profiles: ProfileCatalogue, devices: number | undefined, problems: string[]): Source | undefined {
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
    else if (id !== profileId) problems.push(`${file}: device ${credentials.deviceId} has unknown profile ${JSON.stringify(id)}; known: ${[...profiles.keys()].join(', ')}`);
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
