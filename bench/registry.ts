/**
 * The registry's work that grows with the fleet, on SQLite and on PostgreSQL:
 * device health written in batches (what each node's health stage does after
 * every delivered batch, one transaction for all the devices heard from) and
 * credential checks at CONNECT, one at a time and many at once.
 *
 *   npm run bench:registry -- [--devices 1000] [--rounds 5] [--database-url postgres://…]
 *
 * PostgreSQL is measured when `--database-url` (or TESTBED_DATABASE_URL) names
 * an empty database, e.g. the one `bash scripts/cluster.sh` starts; SQLite
 * always, on a file in a temporary folder.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Registry, SETUP_CALLER } from '../registry/index.js';
import { machine, median } from './harness.js';

const { values: args } = parseArgs({
  options: {
    devices: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '5' },
    'database-url': { type: 'string', default: process.env.TESTBED_DATABASE_URL },
  },
});
const DEVICES = Number(args.devices);
const ROUNDS = Number(args.rounds);
const MINUTE = 60_000;

async function measure(label: string, registry: Registry): Promise<void> {
  const company = await registry.createCompany(SETUP_CALLER.scope, `Bench ${Date.now()}`);
  const pilot = await registry.createPilot(SETUP_CALLER.scope, { companyId: company.id, testbedId: 'helsinki', name: 'bench' });
  const devices = [];
  for (let i = 0; i < DEVICES; i += 1000) {
    const inputs = Array.from({ length: Math.min(1000, DEVICES - i) }, () => ({ profile: 'noise' }));
    devices.push(...(await registry.createDevices(SETUP_CALLER.scope, pilot.id, inputs)));
  }

  const health: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const at = Date.now() + round;
    const updates = devices.map((d) => ({ deviceId: d.device.id, lastReadingAt: at, lateMs: 2 * MINUTE, silentMs: 10 * MINUTE }));
    const started = performance.now();
    await registry.recordActivity(updates);
    health.push(DEVICES / ((performance.now() - started) / 1000));
  }

  const sample = devices.slice(0, Math.min(DEVICES, 500));
  let started = performance.now();
  for (const d of sample) await registry.authenticateDevice(d.device.username, Buffer.from(d.password));
  const oneByOne = sample.length / ((performance.now() - started) / 1000);
  started = performance.now();
  await Promise.all(sample.map((d) => registry.authenticateDevice(d.device.username, Buffer.from(d.password))));
  const together = sample.length / ((performance.now() - started) / 1000);

  console.log(
    `${label.padEnd(11)} health ${Math.round(median(health))} device rows/s (batches of ${DEVICES}, median of ${ROUNDS})` +
      ` | CONNECT checks ${Math.round(oneByOne)}/s one at a time, ${Math.round(together)}/s ${sample.length} at once`,
  );
}

console.log(`registry bench: ${DEVICES} devices; ${machine()}`);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'testbed-bench-registry-'));
try {
  const sqlite = await Registry.open(tmp, undefined);
  await measure('sqlite', sqlite);
  await sqlite.close();
  if (args['database-url']) {
    const pg = await Registry.open(tmp, undefined, { databaseUrl: args['database-url'] });
    await measure('postgresql', pg);
    await pg.close();
  } else {
    console.log('postgresql  not measured: give --database-url (or TESTBED_DATABASE_URL)');
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
