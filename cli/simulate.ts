import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { type ClientConfig, loadClientConfig } from '../core/index.js';
import { type ProfileCatalogue, loadProfiles } from '../device-profiles/index.js';
import {
  type DeviceCredentials,
  SimulatorError,
  provisionScenario,
  ProvisionError,
  provisionDevices,
  createProgressReporter,
  runSimulation,
  simulatedDevices,
  type SimulatedDevice,
  planScenario,
} from '../simulators/index.js';
import { OPTIONS, makePlan, type Plan, type Source, type Values } from './simulate-options.js';

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
  --scenario <name|file>    a whole testbed: helsinki, espoo, vantaa, tampere,
                            turku, oulu (simulators/scenarios/) or a scenario
                            file. With the admin key it registers the
                            scenario's companies, pilots and devices through
                            the API; with --pilot <id> and that pilot's
                            company key, all its devices in that pilot
  --pilot <id>              register new devices in this pilot through the API
                            (needs --profile and an API key)
  --credentials <file>      use existing devices: a JSON array of
                            { "deviceId", "username", "password", "profile" }

Options:
  --profile <id>            device profile (required with --pilot; with
                            --credentials, for entries that name none)
  --devices <n>             how many devices (default 3; with --credentials,
                            the first n of the file, default all)
  --format <f>              json, senml or binary (default: the profile's
                            first format); not with --scenario
  --faults <kind=rate,...>  fault rates per reading, for every device:
                            malformed, outOfRange, clockSkew, duplicate,
                            stuck, gap, disconnect, backlog; and skewSeconds,
                            gapReadings, stuckReadings, offlineReadings,
                            backlogReadings (simulators/faults.ts)
  --rate <r>                readings per second per device (default 1; with
                            --scenario, each device's interval / --speed)
  --speed <x>               with --scenario: report x times faster than real
  --duration <s>            stop after s seconds
  --count <n>               stop after n readings per device
                            (neither: run until Ctrl-C; both: whichever first)
  --qos <0|1>               QoS of the readings (default 1)
  --seed <n>                seed of the signals, to repeat a run (default random)
  --mqtt-url <url>          default mqtt://127.0.0.1:$TESTBED_MQTT_PORT (1883); also mqtts://, ws://.../mqtt, wss://
  --ca <file>               PEM of a private CA that signed the gateway's certificate
  --api-url <url>           default $TESTBED_API_URL, or
                            http://127.0.0.1:$TESTBED_HTTP_PORT (8080)
  --key <key>               API key for --pilot or --scenario
                            (default $TESTBED_API_KEY)
  --save-credentials <file> with --pilot or --scenario, write the new
                            devices' credentials to a new file (their
                            passwords are shown only once)
  --help                    show this help

Exit status: 0 when every reading went through and the rejections are
exactly those the injected faults should get, 1 otherwise, 2 for bad options.
The gateway's time window for clock skews is read from
TESTBED_MAX_FUTURE_SECONDS and TESTBED_MAX_AGE_DAYS (its defaults otherwise).
`;

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
  let env: ClientConfig;
  try {
    env = loadClientConfig(io.env);
  } catch (err) {
    return usageError(io, [(err as Error).message]);
  }
  const problems: string[] = [];
  const plan = makePlan(values, env, profiles, problems);
  if (!plan) return usageError(io, problems);

  const stop = new AbortController();
  const onSigint = () => {
    io.stderr.write('\nStopping (Ctrl-C again to quit at once)...\n');
    stop.abort();
  };
  process.once('SIGINT', onSigint);
  const signal = io.signal ? AbortSignal.any([io.signal, stop.signal]) : stop.signal;
  try {
    const { source } = plan;
    const devices =
      source.kind === 'file'
        ? source.devices
        : source.kind === 'pilot'
          ? await provision(source, profiles, io, signal)
          : await provisionTestbed(source, profiles, io, signal);
    const shaped = devices.map((d) => ({
      ...d,
      ...(plan.format && source.kind !== 'scenario' ? { format: plan.format } : {}),
      ...(plan.faults ? { faults: plan.faults } : {}),
    }));
    return await simulate(plan, shaped, io, signal);
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
      `${devices.some((d) => d.rate !== undefined) ? 'each at its scenario rate' : `${plan.rate} reading${plan.rate === 1 ? '' : 's'}/s each`}, ` +
      `QoS ${plan.qos}, ${until || 'until Ctrl-C'}, seed ${plan.seed}\n`,
  );
  const reporter = createProgressReporter(io.stderr);
  const summary = await runSimulation({
    url: plan.mqttUrl,
    ca: plan.ca,
    devices,
    rate: plan.rate,
    durationMs: plan.durationMs,
    count: plan.count,
    qos: plan.qos,
    seed: plan.seed,
    window: plan.window,
    signal,
    onProgress: (s) => reporter.progress(s),
  });
  reporter.summary(summary, io.stdout);
  const codes = new Set([...Object.keys(summary.rejected), ...Object.keys(summary.expectedRejections)]);
  const asExpected = [...codes].every(
    (code) => (summary.rejected[code] ?? 0) === (summary.expectedRejections[code as keyof typeof summary.expectedRejections] ?? 0),
  );
  return summary.errors > 0 || !asExpected ? 1 : 0;
}

/** Registers a scenario's testbed (or its devices in one given pilot) and returns its devices as the scenario says to run them. */
async function provisionTestbed(
  source: Extract<Source, { kind: 'scenario' }>,
  profiles: ProfileCatalogue,
  io: SimulateIo,
  signal: AbortSignal,
): Promise<SimulatedDevice[]> {
  const { scenario } = source;
  const plan = planScenario(scenario, profiles, source.speed);
  let made;
  try {
    made = await provisionScenario({ apiUrl: source.apiUrl, apiKey: source.key, scenario, plan, pilotId: source.pilotId, signal });
  } catch (err) {
    if (err instanceof ProvisionError && err.provisioned.length > 0) saveTo(err.provisioned, source.saveTo, io);
    throw err;
  }
  io.stderr.write(
    `Registered the ${scenario.name} scenario: ${made.pilots.length} pilot${made.pilots.length === 1 ? '' : 's'}, ${made.devices.length} devices.\n`,
  );
  for (const c of made.companies) io.stderr.write(`  company ${c.name} (${c.id}): key ${c.key}\n`);
  if (source.pilotId === undefined) for (const p of made.pilots) io.stderr.write(`  pilot ${p.name}: ${p.id}\n`);
  saveTo(made.devices, source.saveTo, io);
  return simulatedDevices(made.devices, plan, profiles, scenario.testbed);
}

async function provision(
  source: Extract<Source, { kind: 'pilot' }>,
  profiles: ProfileCatalogue,
  io: SimulateIo,
  signal: AbortSignal,
): Promise<SimulatedDevice[]> {
  const profile = profiles.get(source.profile)!.profile;
  let made: DeviceCredentials[];
  try {
    made = await provisionDevices({
      apiUrl: source.apiUrl,
      apiKey: source.key,
      pilotId: source.pilotId,
      profile: source.profile,
      count: source.devices,
      signal,
    });
  } catch (err) {
    if (err instanceof ProvisionError && err.provisioned.length > 0) saveTo(err.provisioned, source.saveTo, io);
    throw err;
  }
  io.stderr.write(`Registered ${made.length} device${made.length === 1 ? '' : 's'} in pilot ${source.pilotId}: ${made.map((d) => d.deviceId).join(', ')}\n`);
  saveTo(made, source.saveTo, io);
  return made.map((credentials) => ({ credentials, profile }));
}

function saveTo(made: readonly DeviceCredentials[], file: string | undefined, io: SimulateIo): void {
  if (file === undefined) {
    io.stderr.write('Their passwords are not kept; pass --save-credentials <file> to reuse devices.\n');
    return;
  }
  fs.writeFileSync(file, `${JSON.stringify(made, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  io.stderr.write(`Saved their credentials to ${file} (use it with --credentials).\n`);
}
