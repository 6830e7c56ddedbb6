import type { AlertCondition } from '../core/index.js';
import { MODE_DESCRIPTIONS, type DeviceCredentials, type DeviceMode, type PlannedDevice, type Scenario } from '../simulators/index.js';
import type { RunningPipeline } from './pipeline.js';

/** What the demo needs of its state: its companies (with keys), pilots and devices, in plan order. */
interface DemoPlaces {
  readonly companies: readonly { name: string; id: string; key: string }[];
  readonly pilots: readonly { name: string; id: string }[];
  readonly devices: readonly DeviceCredentials[];
}

/** Where each mode shows, as a route of the device (appended to /v1/devices/{id}) and what to look for. */
const WHERE: Readonly<Record<DeviceMode, { path: string; look: string }>> = {
  silent: { path: '', look: 'health.status: ok, late, silent, ok; its first reading back carries "gap": true' },
  'battery-drain': { path: '', look: 'health.battery.low turns true, then false when the battery is replaced' },
  flapping: { path: '/events', look: 'a connected and disconnected ("connection lost") pair per reading' },
  garbage: { path: '/rejections', look: 'every other message rejected (TESTBED_READING_NOT_JSON or TESTBED_READING_BAD_BINARY)' },
};

/** The alert rules the demo gives each pilot with a faulty device, so /v1/alerts and the live stream show them. */
const RULES: readonly { condition: AlertCondition; threshold?: number }[] = [
  { condition: 'silent' },
  { condition: 'battery_low' },
  { condition: 'rejections', threshold: 10 },
];

/** The demo's devices with a standing fault: index in the plan, and mode. */
const faulty = (plan: readonly PlannedDevice[]) => plan.flatMap((d, i) => (d.mode ? [{ index: i, device: d, mode: d.mode }] : []));

/** Alert rules on the pilots of the faulty devices, made as their companies (on the demo's first run). */
export async function createDemoRules(pipeline: RunningPipeline, scenario: Scenario, plan: readonly PlannedDevice[], places: DemoPlaces): Promise<void> {
  const pilots = new Set(faulty(plan).map((f) => f.device.pilot));
  for (const p of pilots) {
    const companyId = places.companies.find((c) => c.name === scenario.pilots[p]!.company)!.id;
    for (const rule of RULES) {
      await pipeline.registry.createAlertRule(
        { kind: 'company', companyId },
        { ...rule, holdSeconds: 30, pilotId: places.pilots[p]!.id, testbedId: scenario.testbed, name: `demo: ${rule.condition}` },
      );
    }
  }
}

/** The banner's part on faults: which devices misbehave on purpose, how, and where to see it. */
export function faultsBanner(pipeline: RunningPipeline, scenario: Scenario, plan: readonly PlannedDevice[], places: DemoPlaces): string {
  const rates = Object.entries(scenario.faults ?? {})
    .filter(([k, v]) => typeof v === 'number' && !k.endsWith('Readings') && k !== 'skewSeconds' && v > 0)
    .map(([k, v]) => `${k} ${Math.round((v as number) * 1000) / 10} %`);
  const lines = faulty(plan).map(({ index, device, mode }) => {
    const id = places.devices[index]!.deviceId;
    const key = places.companies.find((c) => c.name === scenario.pilots[device.pilot]!.company)!.key;
    const where = WHERE[mode];
    return [
      `  ${mode.padEnd(14)}${device.name} (${id}): ${MODE_DESCRIPTIONS[mode]}`,
      `    curl -s -H 'Authorization: Bearer ${key}' '${pipeline.apiUrl}/v1/devices/${id}${where.path}'`,
      `    look for: ${where.look}`,
    ].join('\n');
  });
  return `Faults injected on purpose (simulators/scenarios/${scenario.testbed}.json):
${lines.join('\n')}
  and, on every device, faults at random per reading: ${rates.join(', ') || 'none'}.
  Each faulty device's pilot has demo alert rules (silent, battery_low, rejections): open ones at
  ${pipeline.apiUrl}/v1/alerts?state=open (with the company's key), on the pilot's live stream as
  event: alert, and in the fleet at ${pipeline.apiUrl}/v1/devices?status=late,silent and
  ${pipeline.apiUrl}/v1/testbeds/${scenario.testbed}/health (admin key). Prometheus metrics at
  ${pipeline.metricsUrl ?? `${pipeline.apiUrl}/metrics (admin key)`}.
`;
}
