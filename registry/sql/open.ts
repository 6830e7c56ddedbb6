import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { migrate } from '../migrations.js';
import { migratePostgres } from '../migrations-postgres.js';
import type { Database } from './database.js';
import { PostgresDatabase } from './postgres.js';
import { SqliteDatabase } from './sqlite.js';

/**
 * Opens (creating and migrating as needed) the SQLite file `file`. Several
 * processes on one machine may share one file: SQLite in WAL mode lets one
 * write at a time and all read.
 */
export function openSqlite(file: string): Database {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new BetterSqlite3(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return new SqliteDatabase(db);
}

/**
 * Connects to PostgreSQL at `url` and migrates it (once across every node).
 * `onConnectionError` hears of connections that break while idle, which the
 * pool replaces by itself.
 */
export async function openPostgres(url: string, onConnectionError: (err: Error) => void): Promise<Database> {
  const db = new PostgresDatabase(url, onConnectionError);
  try {
    await migratePostgres(db.pool);
  } catch (err) {
    await db.close().catch(() => undefined);
    throw new Error(`the registry database at ${redactUrl(url)} could not be opened: ${(err as Error).message}`, { cause: err });
  }
  return db;
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(an unparsable URL)';
  }
}
