import { startPipeline, type RunningPipeline } from '../../cli/pipeline.js';
import { loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/log.js';
import type { Pilot } from '../../core/model.js';
import { tempDir } from './tmp.js';
import { SETUP_CALLER as SETUP } from '../../registry/index.js';

export { eventually } from './wait.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestPipeline extends RunningPipeline {
  readonly dataDir: string;
  /** Stops the pipeline and removes its data folder. */
  close(): Promise<void>;
}

/** The whole pipeline in this process, on free ports and a temporary data folder. */
export async function startTestPipeline(env: Record<string, string> = {}): Promise<TestPipeline> {
  const tmp = tempDir();
  const config = loadConfig({
    TESTBED_DATA_DIR: tmp.dir,
    TESTBED_MQTT_PORT: '0',
    TESTBED_HTTP_PORT: '0',
    TESTBED_ADMIN_TOKEN: ADMIN_TOKEN,
    TESTBED_FLUSH_MS: '20',
    ...env,
  });
  const pipeline = await startPipeline(config, createLogger(process.env.TESTBED_TEST_LOG ?? 'silent'));
  return {
    ...pipeline,
    dataDir: tmp.dir,
    async close() {
      await pipeline.stop();
      tmp.remove();
    },
  };
}

/** A company, a running pilot in Helsinki and `count` devices of a profile, made through the registry. */
export async function provision(p: RunningPipeline, profile = 'air-quality', count = 1, pilot?: Partial<Pick<Pilot, 'startsAt' | 'endsAt'>>) {
  const company = await p.registry.createCompany(SETUP.scope, `Company ${Math.random().toString(36).slice(2, 8)}`);
  const created = await p.registry.createPilot(SETUP.scope, {
    companyId: company.id,
    testbedId: 'helsinki',
    name: 'Pilot',
    startsAt: pilot?.startsAt ? Date.parse(pilot.startsAt) : undefined,
    endsAt: pilot?.endsAt ? Date.parse(pilot.endsAt) : undefined,
  });
  const devices = [];
  for (let i = 0; i < count; i++) devices.push(await p.registry.createDevice({ kind: 'all' }, created.id, { profile }));
  return { company, pilot: created, devices };
}
