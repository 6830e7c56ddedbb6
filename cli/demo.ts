import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { loadConfig } from '../core/config.js';
import { createLogger } from '../core/log.js';
import { deviceTopic } from '../core/topics.js';
import type { DeviceCredentials } from '../simulators/credentials.js';
import { runSimulation } from '../simulators/run.js';
import { startPipeline, type RunningPipeline } from './pipeline.js';
import { untilSignal } from './signals.js';

/** What the demo made on its first run, kept so later runs reuse it (passwords are shown only once). */
interface DemoState {
  companyId: string;
  pilotId: string;
  key: string;
  devices: (DeviceCredentials & { profile: string })[];
}

const DEMO_DEVICES = [
  { profile: 'air-quality', name: 'Mannerheimintie lamp post 12' },
  { profile: 'air-quality', name: 'Kaisaniemi park gate' },
  { profile: 'noise', name: 'Rautatientori facade' },
  { profile: 'weather', name: 'Kaisaniemi roof' },
] as const;

function loadState(file: string, pipeline: RunningPipeline): DemoState | undefined {
  if (!fs.existsSync(file)) return undefined;
  const state = JSON.parse(fs.readFileSync(file, 'utf8')) as DemoState;
  // The registry may have been reset; start over when the demo pilot is gone.
  return pipeline.registry.getPilot({ kind: 'all' }, state.pilotId) ? state : undefined;
}

function createState(pipeline: RunningPipeline): DemoState {
  const { registry } = pipeline;
  const company = registry.createCompany('Demo Ilmanlaatu Oy');
  const { key } = registry.createCompanyKey(company.id, 'demo');
  const pilot = registry.createPilot({ companyId: company.id, testbedId: 'helsinki', name: 'Demo: street air and noise in central Helsinki' });
  const devices = DEMO_DEVICES.map(({ profile, name }) => {
    const { device, password } = registry.createDevice({ kind: 'company', companyId: company.id }, pilot.id, { profile, name });
    return { deviceId: device.id, username: device.username, password, profile };
  });
  return { companyId: company.id, pilotId: pilot.id, key, devices };
}

/** One deliberately bad reading, so the rejections endpoint has something to show. */
async function publishBadReading(url: string, device: DeviceCredentials): Promise<void> {
  const client = await mqtt.connectAsync(url, { username: device.username, password: device.password, protocolVersion: 4, reconnectPeriod: 0 });
  await client.publishAsync(deviceTopic(device.deviceId, 'readings'), JSON.stringify({ pm25: 1500, pm10: 12 }), { qos: 1 });
  await client.endAsync();
}

function banner(pipeline: RunningPipeline, state: DemoState): string {
  const [air, noise] = [state.devices[0]!, state.devices[2]!];
  const mqttPort = pipeline.gateway.port;
  const auth = `-H 'Authorization: Bearer ${state.key}'`;
  return `
Testbed demo: the whole pipeline on the embedded store, with ${state.devices.length} simulated devices publishing.

  HTTP API      ${pipeline.apiUrl}   (OpenAPI document: ${pipeline.apiUrl}/openapi.json)
  MQTT gateway  ${pipeline.mqttUrl}
  Company key   ${state.key}
  Admin key     ${pipeline.admin.file ? `in ${pipeline.admin.file}` : 'from TESTBED_ADMIN_TOKEN'}
  Pilot         ${state.pilotId} (Helsinki testbed)

Latest readings of an air-quality station:
  curl -s ${auth} '${pipeline.apiUrl}/v1/devices/${air.deviceId}/readings?from=${new Date(Date.now() - 3_600_000).toISOString()}'

Rejected readings (one bad reading was sent on purpose):
  curl -s ${auth} '${pipeline.apiUrl}/v1/devices/${air.deviceId}/rejections'

Publish a reading yourself with a stock MQTT client (mosquitto-clients):
  mosquitto_pub -h ${pipeline.config.host} -p ${mqttPort} -V mqttv311 -q 1 -u ${noise.username} -P ${noise.password} -t ${deviceTopic(noise.deviceId, 'readings')} -m '{"laeq": 62.5}'

Stop with Ctrl-C. Data stays in ${pipeline.config.dataDir}.
`;
}

/** `testbed demo`: the pipeline, a demo company, pilot and devices, and simulators publishing. */
export async function demoCommand(_argv: string[]): Promise<number> {
  const config = loadConfig({ TESTBED_LOG_LEVEL: 'warn', ...process.env });
  const log = createLogger(config.logLevel);
  const pipeline = await startPipeline(config, log);
  const stateFile = path.join(config.dataDir, 'demo.json');
  let state = loadState(stateFile, pipeline);
  if (!state) {
    state = createState(pipeline);
    fs.writeFileSync(stateFile, JSON.stringify(state, null, 2), { mode: 0o600 });
  }
  const profiles = pipeline.profiles;
  const abort = new AbortController();
  const simulation = runSimulation({
    url: pipeline.mqttUrl,
    devices: state.devices.map((credentials) => ({ credentials, profile: profiles.get(credentials.profile)!.profile })),
    rate: 0.5,
    qos: 1,
    signal: abort.signal,
    progressIntervalMs: 10_000,
    onProgress: () => {
      const s = pipeline.ingest.stats();
      process.stdout.write(`  ${new Date().toISOString()}  stored ${s.stored} readings, ${s.rejections} rejections, ${pipeline.gateway.connectedDevices()} devices connected\n`);
    },
  });
  await publishBadReading(pipeline.mqttUrl, state.devices[0]!);
  process.stdout.write(banner(pipeline, state));

  await Promise.race([untilSignal(), simulation]);
  abort.abort();
  const summary = await simulation;
  process.stdout.write(`\nSimulated devices sent ${summary.sent} readings; ${summary.acknowledged} acknowledged.\n`);
  await pipeline.stop();
  log.flush();
  return 0;
}
