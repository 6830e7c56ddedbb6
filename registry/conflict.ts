import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { TestbedError } from '../core/index.js';

/** PostgreSQL's SQLSTATE for a unique violation. */
const PG_UNIQUE_VIOLATION = '23505';

/**
 * A uniqueness violation as the typed conflict it is (TESTBED_CONFLICT, 409),
 * recognised by SQLite's extended result code or PostgreSQL's SQLSTATE rather
 * than by its message; anything else is returned unchanged, to be rethrown.
 */
export function asConflict(err: unknown, message: string): unknown {
  const unique =
    (err instanceof BetterSqlite3.SqliteError && err.code === 'SQLITE_CONSTRAINT_UNIQUE') ||
    (err instanceof pg.DatabaseError && err.code === PG_UNIQUE_VIOLATION);
  return unique ? new TestbedError('TESTBED_CONFLICT', message) : err;
}
