import BetterSqlite3 from 'better-sqlite3';
import { TestbedError } from '../core/index.js';

/**
 * A uniqueness violation as the typed conflict it is (TESTBED_CONFLICT, 409),
 * recognised by SQLite's extended result code rather than by its message;
 * anything else is returned unchanged, to be rethrown.
 */
export function asConflict(err: unknown, message: string): unknown {
  return err instanceof BetterSqlite3.SqliteError && err.code === 'SQLITE_CONSTRAINT_UNIQUE' ? new TestbedError('TESTBED_CONFLICT', message) : err;
}
