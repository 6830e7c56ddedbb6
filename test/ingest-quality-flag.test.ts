import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { DeviceContext } from '../core/model.js';
import { EmbeddedStore } from '../store/embedded/store.js';
import { loadProfiles } from '../device-profiles/load.js';
import { createPipeline } from '../ingest/pipeline.js';
import { tempDir } from './helpers/tmp.js';
import { readDevice } from './helpers/readings.js';

/**
 * The quality flag from ingest into an embedded store whose readings.db was
 * made before the flag existed: the store adds the column when it opens, the
 * old readings read back without a flag, new ones with theirs.
 */
const tmp = tempDir();
afterAll(() => tmp.remove());

/** The readings table as the first release made it. */
const FIRST_SCHEMA = `
  CREATE TABLE readings (
    device_id  TEXT    NOT NULL,
    time       INTEGER NOT NULL,
    pilot_id   TEXT    NOT NULL,
    company_id TEXT    NOT NULL,
    testbed_id TEXT    NOT NULL,
    profile    TEXT    NOT NULL,
    vals       TEXT    NOT NULL,
    PRIMARY KEY (device_id, time)
  ) STRICT, WITHOUT ROWID;`;

describe('the quality flag', () => {
  it('survives from ingest to an embedded store made before it existed', async () => {
    const old = new BetterSqlite3(path.join(tmp.dir, 'readings.db'));
    old.exec(FIRST_SCHEMA);
    old.prepare('INSERT INTO readings VALUES (?, ?, ?, ?, ?, ?, ?)').run('dev_1', 1_000, 'pi_1', 'co_1', 'helsinki', 'air-quality', '{"pm25":4}');
    old.close();

    const store = await EmbeddedStore.open(tmp.dir);
    try {
      const now = Date.parse('2026-05-01T12:00:00Z');
      const ctx: DeviceContext = {
        deviceId: 'dev_1',
        pilotId: 'pi_1',
        companyId: 'co_1',
        testbedId: 'helsinki',
        profile: 'air-quality',
        pilotStartsAt: null,
        pilotEndsAt: null,
      };
      const pipeline = createPipeline(loadProfiles(), { maxPayloadBytes: 1024, maxFutureMs: 60_000, maxAgeMs: 86_400_000 });
      const flagged = pipeline.process(ctx, Buffer.from('{"pm25": 640, "pm10": 700, "humidity": 50}'), now);
      const plain = pipeline.process(ctx, Buffer.from('{"pm25": 6}'), now + 1000);
      expect(flagged.readings[0]!.suspect).toEqual(['pm25', 'pm10']);
      await store.write([...flagged.readings, ...plain.readings]);
      const rows = await readDevice(store, 'dev_1', { limit: 10 }, { kind: 'all' });
      expect(rows).toStrictEqual([
        { time: 1_000, values: { pm25: 4 } },
        { time: now, values: { pm25: 640, pm10: 700, humidity: 50 }, suspect: ['pm25', 'pm10'] },
        { time: now + 1000, values: { pm25: 6 } },
      ]);
    } finally {
      await store.close();
    }
  });
});
