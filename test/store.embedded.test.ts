import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { EmbeddedStore } from '../store/embedded/store.js';
import { tempDir } from './helpers/tmp.js';
import { T0, describeStoreContract, reading } from './store-contract.js';

describeStoreContract('embedded (SQLite in a temporary folder)', async () => {
  const tmp = tempDir();
  const store = await EmbeddedStore.open(tmp.dir);
  return {
    store,
    async close() {
      await store.close();
      tmp.remove();
    },
  };
});

describe('EmbeddedStore migration', () => {
  it('fills the newest value of each measurement from readings stored before the latest table existed', async () => {
    const tmp = tempDir();
    try {
      const store = await EmbeddedStore.open(tmp.dir);
      const r = (time: number, values: Record<string, number>, suspect?: string[]) => ({ ...reading('old', time, values), ...(suspect ? { suspect } : {}) });
      await store.write([r(T0, { v: 1, w: 9 }, ['w']), r(T0 + 1, { v: 2 }), r(T0 + 2, { x: 3 })]);
      await store.close();
      // As a database of the release before: no latest table (nor the later flag columns), two migrations applied.
      const db = new BetterSqlite3(path.join(tmp.dir, 'readings.db'));
      db.exec('DROP TABLE latest; ALTER TABLE readings DROP COLUMN stuck; ALTER TABLE readings DROP COLUMN gap');
      db.pragma('user_version = 2');
      db.close();
      const reopened = await EmbeddedStore.open(tmp.dir);
      expect(await reopened.queryLatest({ kind: 'all' }, { pilotId: 'pi_1', deviceIds: ['old'] })).toEqual([
        { deviceId: 'old', time: T0 + 2, values: { v: 2, w: 9, x: 3 }, times: { v: T0 + 1, w: T0, x: T0 + 2 }, suspect: ['w'] },
      ]);
      await reopened.close();
    } finally {
      tmp.remove();
    }
  });
});
