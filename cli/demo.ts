import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { loadConfig, deviceTopic, isoTime } from '../core/index.js';
import { type DeviceCredentials, runSimulation, simulatedDevices, loadScenario, planScenario, type PlannedDevice, type Scenario } from '../simulators/index.js';
import { SETUP_CALLER } from '../registry/index.js';
import { createDemoRules, faultsBanner } from './demo-faults.js';
import { launchPipeline } from './launch.js';
import { fileLogger } from './logger.js';
import type { RunningPipeline } from './pipeline.js';
import { untilSignal } from './signals.js';

/** The scenario the demo runs (simulators/scenarios/helsinki.json). */
const DEMO_SCENARIO = 'helsinki';

/** What the demo made on its first run, kept so later runs reuse it (passwords are shown only once). */
interface DemoState {
  scenario: string;
  companies: { name: string; id: string; key: string }[];
  pilots: { name: string; id: string }[];
  /** In the order of the scenario's plan. */
  devices: (DeviceCredentials & { profile: string })[];
  /** An operator key for the scenario's testbed and a research key, so every kind of user can sign in to the console. */
  keys: { operator: string; researcher: string };
}

async function loadState(file: string, pipeline: RunningPipeline, plan: readonly PlannedDevice[]): Promise<DemoState | undefined> {
  if (!fs.existsSync(file)) return undefined;
  const state = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<DemoState>;
  // The registry may have been reset, or the state be of an older demo: start over then.
  const fits =
    state.scenario === DEMO_SCENARIO &&
    state.devices?.length === plan.length &&
    state.devices.every((d, i) => d.profile === plan[i]!.profile) &&
    state.pilots !== undefined &&
    state.keys !== undefined;
  if (!fits) return undefined;
  for (const p of state.pilots ?? []) if (!(await pipeline.registry.getPilot(SETUP_CALLER.scope, p.id))) return undefined;
  return state as DemoState;
}

/** Registers the scenario's companies, pilots and devices in-process, through the registry. */
async function createState(pipeline: RunningPipeline, scenario: Scenario, plan: readonly PlannedDevice[]): Promise<DemoState> {
  const { registry } = pipeline;
  const { scope } = SETUP_CALLER;
  const companies: DemoState['companies'] = [];
  for (const name of new Set(scenario.pilots.map((p) => p.company))) {
    const company = await registry.createCompany(scope, name);
    companies.push({ name, id: company.id, key: (await registry.createCompanyKey(SETUP_CALLER, company.id, 'demo')).key });
  }
  // The first pilot publishes open data, so a visitor without a key has something to find.
  const pilots: DemoState['pilots'] = [];
  for (const [i, p] of scenario.pilots.entries()) {
    const companyId = companies.find((c) => c.name === p.company)!.id;
    const open = i === 0 ? { sharing: 'open' as const, licence: 'CC-BY-4.0', attribution: `${p.company}, ${scenario.name}` } : {};
    pilots.push({ name: p.name, id: (await registry.createPilot(scope, { companyId, testbedId: scenario.testbed, name: p.name, ...open })).id });
  }
  const devices: DemoState['devices'] = [];
  for (const [i, d] of plan.entries()) {
    const pilot = pilots[d.pilot]!;
    const companyId = companies.find((c) => c.name === scenario.pilots[d.pilot]!.company)!.id;
    // Placed on a grid over central Helsinki, so the console's map has something to show.
    const location = { type: 'Point' as const, coordinates: [24.92 + (i % 8) * 0.012, 60.16 + Math.floor(i / 8) * 0.008] as [number, number] };
    const { device, password } = await registry.createDevice({ kind: 'company', companyId }, pilot.id, { profile: d.profile, name: d.name, location });
    devices.push({ deviceId: device.id, username: device.username, password, profile: d.profile });
  }
  const grant = { companyId: null, testbedIds: [scenario.testbed], readOnly: false, expiresAt: null };
  const keys = {
    operator: (await registry.createKey(SETUP_CALLER, { ...grant, role: 'operator' }, 'demo operator')).key,
    researcher: (await registry.createKey(SETUP_CALLER, { ...grant, role: 'researcher', readOnly: true }, 'demo researcher')).key,
  };
  const state = { scenario: DEMO_SCENARIO, companies, pilots, devices, keys };
  await createDemoRules(pipeline, scenario, plan, state);
  return state;
}

/** One deliberately bad reading, so the rejections endpoint has something to show at once. */
async function publishBadReading(url: string, device: DeviceCredentials): Promise<void> {
  const client = await mqtt.connectAsync(url, { username: device.username, password: device.password, protocolVersion: 4, reconnectPeriod: 0 });
  await client.publishAsync(deviceTopic(device.deviceId, 'readings'), JSON.stringify({ pm25: 1500, pm10: 12 }), { qos: 1 });
  await client.endAsync();
}

/** Which company owns which pilot and devices: one block per company, with its key. */
function owners(scenario: Scenario, plan: readonly PlannedDevice[], state: DemoState): string {
  return state.companies
    .map((c) => {
      const pilots = state.pilots.filter((_, i) => scenario.pilots[i]!.company === c.name);
      const lines = pilots.flatMap((p) => {
        const at = state.pilots.indexOf(p);
        const devices = state.devices.filter((_, i) => plan[i]!.pilot === at);
        const profiles = [...new Set(devices.map((d) => d.profile))];
        return [
          `      pilot ${p.name} (${p.id})`,
          ...profiles.map(
            (profile) =>
              `        ${profile.padEnd(18)} ${devices
                .filter((d) => d.profile === profile)
                .map((d) => d.deviceId)
                .join(' ')}`,
          ),
        ];
      });
      return [`    ${c.name}  (company ${c.id}, key ${c.key})`, ...lines].join('\n');
    })
    .join('\n');
}

function adminKey(pipeline: RunningPipeline): string {
  return pipeline.admin.file ? `cat ${pipeline.admin.file}   (or set TESTBED_ADMIN_TOKEN before the first start)` : 'the value of TESTBED_ADMIN_TOKEN';
}

function banner(pipeline: RunningPipeline, scenario: Scenario, plan: readonly PlannedDevice[], state: DemoState, logFile: string): string {
  const airAt = state.devices.findIndex((d) => d.profile === 'air-quality');
  const air = state.devices[airAt]!;
  const noise = state.devices.find((d) => d.profile === 'noise')!;
  const company = scenario.pilots[plan[airAt]!.pilot]!.company;
  const auth = `-H 'Authorization: Bearer ${state.companies.find((c) => c.name === company)!.key}'`;
  const pub = (d: DeviceCredentials, message: string) =>
    `mosquitto_pub -h ${pipeline.config.host} -p ${pipeline.gateway.port} -V mqttv311 -q 1 -u ${d.username} -P ${d.password} -t ${deviceTopic(d.deviceId, 'readings')} -m '${message}'`;
  return `
Testbed demo: the ${scenario.name} scenario, ${state.devices.length} simulated devices publishing
(JSON, SenML and binary payloads; now and then a fault, as real devices make them).

  Web console   ${pipeline.apiUrl}/   (sign in with a key below; without one it shows the open data)
  API docs      ${pipeline.apiUrl}/docs   (try it out there with a key below)
  HTTP API      ${pipeline.apiUrl}   (OpenAPI document: ${pipeline.apiUrl}/openapi.json)
  MQTT gateway  ${pipeline.mqttUrl}
  Admin key     ${adminKey(pipeline)}
  Operator key  ${state.keys.operator}   (the ${scenario.testbed} testbed)
  Research key  ${state.keys.researcher}   (read-only: pilots shared with research or open)
  Server log    ${logFile}
  Companies, their keys, pilots and devices (Helsinki testbed):
${owners(scenario, plan, state)}

Latest readings of ${company}'s air-quality station ${air.deviceId} (values in the units GET /v1/profiles lists):
  curl -s ${auth} '${pipeline.apiUrl}/v1/devices/${air.deviceId}/readings?from=${isoTime(Date.now() - 3_600_000)}'

Rejected readings (one bad reading was sent on purpose):
  curl -s ${auth} '${pipeline.apiUrl}/v1/devices/${air.deviceId}/rejections'

Talk back to it: a command (the simulated station obeys and answers), its status, and its desired configuration:
  curl -s ${auth} -H 'content-type: application/json' -d '{"name":"set_interval","params":{"seconds":30}}' '${pipeline.apiUrl}/v1/devices/${air.deviceId}/commands'
  curl -s ${auth} '${pipeline.apiUrl}/v1/devices/${air.deviceId}/commands'
  curl -s ${auth} -X PUT -H 'content-type: application/json' -d '{"reportingIntervalSeconds":60}' '${pipeline.apiUrl}/v1/devices/${air.deviceId}/config/desired'
  curl -s ${auth} '${pipeline.apiUrl}/v1/devices/${air.deviceId}/config'

Publish a reading yourself with a stock MQTT client (mosquitto-clients), as JSON or as a SenML pack:
  ${pub(noise, '{"laeq": 62.5}')}
  ${pub(noise, '[{"bn":"noise:","n":"laeq","u":"dBA","v":58.1,"t":-60},{"n":"laeq","u":"dBA","v":61.4}]')}

Manage it from another terminal with the admin commands (testbed help):
  TESTBED_API_URL=${pipeline.apiUrl} TESTBED_API_KEY=${pipeline.admin.file ? `$(cat ${pipeline.admin.file})` : '"$TESTBED_ADMIN_TOKEN"'} node ${path.relative(process.cwd(), process.argv[1] ?? 'dist/cli/testbed.js')} pilots list

${faultsBanner(pipeline, scenario, plan, state)}
Stop with Ctrl-C. Data stays in ${pipeline.config.dataDir}.
`;
}

/** `testbed demo`: the pipeline, and the Helsinki scenario's companies, pilots and simulated devices. */
export async function demoCommand(): Promise<number> {
  const config = loadConfig(process.env);
  // The terminal is for what the demo prints; the server's log goes to a file beside its data.
  const logFile = path.join(config.dataDir, 'demo.log');
  const log = fileLogger(config, logFile);
  const pipeline = await launchPipeline(config, log);
  const profiles = pipeline.profiles;
  const scenario = loadScenario(DEMO_SCENARIO, profiles);
  const plan = planScenario(scenario, profiles);
  const stateFile = path.join(config.dataDir, 'demo.json');
  let state = await loadState(stateFile, pipeline, plan);
  if (!state) {
    state = await createState(pipeline, scenario, plan);
    fs.writeFileSync(stateFile, JSON.stringify(state, null, 2), { mode: 0o600 });
  }
  const devices = simulatedDevices(state.devices, plan, profiles, scenario.testbed);
  const abort = new AbortController();
  const simulation = runSimulation({
    url: pipeline.mqttUrl,
    devices,
    rate: 1,
    qos: 1,
    seed: scenario.seed,
    signal: abort.signal,
    progressIntervalMs: 10_000,
    onProgress: () => {
      const s = pipeline.ingest.stats();
      process.stdout.write(
        `  ${isoTime(Date.now())}  ${s.stored} readings stored, ${s.rejections} rejections, ${pipeline.gateway.connectedDevices()} devices connected\n`,
      );
    },
  });
  await publishBadReading(
    pipeline.mqttUrl,
    state.devices.find((d) => d.profile === 'air-quality')!,
  );
  process.stdout.write(banner(pipeline, scenario, plan, state, logFile));

  await Promise.race([untilSignal(), simulation]);
  abort.abort();
  const summary = await simulation;
  process.stdout.write(`\nSimulated devices sent ${summary.sent} messages; ${summary.acknowledged} acknowledged.\n`);
  await pipeline.stop();
  log.flush();
  return 0;
}
