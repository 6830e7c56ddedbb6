/**
 * How long SensorThings answers take over a registry with many pilots: the
 * entity-set listings (with $expand, paged to the end), entities by id and a
 * Datastream's Observations by time, as the admin and without a key. Runs the
 * service in this process over a real registry and embedded store in a
 * temporary folder. Prints the median of each request.
 *
 *   npm run build --silent && node dist/bench/sta.js [--pilots 200] [--devices 2] [--readings 50] [--runs 3]
 *   (node --cpu-prof dist/bench/sta.js writes a profile to open in Chrome's DevTools)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig, type Scope } from '../core/index.js';
import { loadProfiles } from '../device-profiles/index.js';
import { Registry, SETUP_CALLER as SETUP } from '../registry/index.js';
import { SensorThings } from '../sensorthings/index.js';
import { openStores, type Reading } from '../store/index.js';

const { values: args } = parseArgs({
  options: {
    pilots: { type: 'string', default: '200' },
    devices: { type: 'string', default: '2' },
    readings: { type: 'string', default: '50' },
    runs: { type: 'string', default: '3' },
  },
});
const T0 = Date.parse('2025-01-01T00:00:00Z');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'testbed-bench-sta-'));
const registry = await Registry.open(dir, undefined);
const stores = await openStores(loadConfig({ TESTBED_DATA_DIR: dir }), pino({ level: 'silent' }));
const store = stores.readings;
const company = await registry.createCompany(SETUP.scope, 'Bench Oy');
const readings: Reading[] = [];
let firstOpenDevice = '';
for (let p = 0; p < Number(args.pilots); p++) {
  // Every tenth pilot is open, as in a registry where most data is private.
  const open = p % 10 === 0;
  const pilot = await registry.createPilot(SETUP.scope, {
    companyId: company.id,
    testbedId: 'espoo',
    name: `Pilot ${p}`,
    ...(open ? { sharing: 'open' } : {}),
  });
  for (let d = 0; d < Number(args.devices); d++) {
    const location = { type: 'Point' as const, coordinates: [24.6 + p / 1000, 60.2 + d / 1000] as [number, number] };
    const deviceId = (await registry.createDevice(SETUP.scope, pilot.id, { profile: 'weather', location })).device.id;
    if (open && !firstOpenDevice) firstOpenDevice = deviceId;
    for (let i = 0; i < Number(args.readings); i++) {
      readings.push({
        deviceId,
        pilotId: pilot.id,
        companyId: company.id,
        testbedId: 'espoo',
        profile: 'weather',
        time: T0 + i * 60_000,
        values: { temperature: i / 4, humidity: 50 },
      });
    }
  }
}
await store.write(readings);

const sta = new SensorThings({ registry, readings: store, profiles: loadProfiles(), maxQueryMs: 60_000 });
const base = 'http://bench/sta/v1.1';
const callers: Record<string, Scope> = { admin: SETUP.scope, anonymous: (await registry.anonymousCaller()).scope };

/** Every page of a request, following @iot.nextLink; the number of pages. */
async function pages(scope: Scope, first: string): Promise<number> {
  let n = 0;
  for (let url: string | undefined = first; url; n++) {
    const [p = '', q = ''] = url.split('?', 2);
    const answer = await sta.answer({ scope, path: p, query: new URLSearchParams(q), base });
    url = 'json' in answer ? (answer.json as { '@iot.nextLink'?: string })['@iot.nextLink']?.slice(base.length) : undefined;
  }
  return n;
}

const ds = `${firstOpenDevice}~temperature`;
const REQUESTS = [
  '/Things?$top=1000&$expand=Datastreams',
  '/Datastreams?$top=1000&$expand=Observations,Thing',
  '/Observations?$top=1000&$expand=Datastream',
  '/FeaturesOfInterest?$top=1000',
  '/Things?$top=10',
  '/Things?$top=10&$filter=properties/testbedId eq %27espoo%27',
  `/Things('${firstOpenDevice}')?$expand=Datastreams`,
  `/Datastreams('${ds}')/Observations?$filter=phenomenonTime ge 2025-01-01T00:10:00Z&$orderby=phenomenonTime desc&$top=10`,
];
console.log(`${args.pilots} pilots x ${args.devices} devices x ${args.readings} readings; median of ${args.runs} runs`);
for (const [who, scope] of Object.entries(callers)) {
  for (const request of REQUESTS) {
    const times: number[] = [];
    let n = 0;
    let failed = '';
    for (let r = 0; r < Number(args.runs) && !failed; r++) {
      const started = performance.now();
      n = await pages(scope, request.replaceAll('%27', "'")).catch((err: Error) => ((failed = err.message.slice(0, 60)), 0));
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    console.log(
      `${who.padEnd(9)} ${(times[Math.floor(times.length / 2)] as number).toFixed(1).padStart(8)} ms  ${String(n).padStart(3)} pages  ${request}${failed && `  FAILED: ${failed}`}`,
    );
  }
}
await stores.close();
await registry.close();
fs.rmSync(dir, { recursive: true, force: true });
