import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { TestbedError } from '../../core/index.js';
import type { Database, RunResult, SqlParams, SqlValue, Statement } from './database.js';
import { toPostgres, type PostgresStatement } from './postgres-sql.js';

/** Connections one node keeps to PostgreSQL. */
const POOL_SIZE = 10;
/** How long a query may wait for a connection, and then for its answer, before the registry counts as unavailable. */
const CONNECT_TIMEOUT_MS = 5_000;
const QUERY_TIMEOUT_MS = 15_000;
/**
 * The advisory lock every registry transaction holds (`pg_advisory_xact_lock`):
 * transactions run one at a time across all nodes, as they do on one SQLite
 * file, so table code written for one behaves the same on the other. Registry
 * writes are rare and short (no reading goes through them).
 */
const TRANSACTION_LOCK = 0x7465_7374; // "test"

/**
 * Answers that mean PostgreSQL cannot be reached or is going away, rather than
 * that the query is wrong: connection exceptions (class 08), shutdown and
 * startup (57P01–57P03), too many connections (53300).
 */
const UNAVAILABLE_SQLSTATES = /^(08|57P0[123]|53300)/;
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** True when `err` says PostgreSQL is out of reach (down, restarting, or too slow), not that a query failed. */
export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATES.test(code) || UNAVAILABLE_ERRNOS.has(code))) return true;
  // node-postgres says these in words only.
  return /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error/i.test(err.message);
}

function unavailable(err: unknown): unknown {
  return isUnavailable(err) ? new TestbedError('TESTBED_REGISTRY_UNAVAILABLE') : err;
}

/** Integers come back as numbers, as SQLite gives them (epoch ms and counts fit in 2^53); booleans as 1 and 0. */
const TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC) return (v: string) => Number(v);
    if (oid === pg.types.builtins.BOOL) return (v: string) => (v === 't' ? 1 : 0);
    return pg.types.getTypeParser(oid, format);
  },
};

/**
 * The registry on PostgreSQL (`TESTBED_DATABASE_URL`), shared by every node:
 * a pool of connections, statements prepared once per connection, and
 * transactions on one connection that every query inside them joins
 * (followed through the async context, as `SqliteDatabase` does).
 */
export class PostgresDatabase implements Database {
  readonly dialect = 'postgres';
  readonly #pool: pg.Pool;
  readonly #cache = new Map<string, PostgresStatement & { readonly name: string }>();
  readonly #inTransaction = new AsyncLocalStorage<{ readonly client: pg.PoolClient; open: boolean }>();

  constructor(url: string, onIdleError: (err: Error) => void) {
    this.#pool = new pg.Pool({
      connectionString: url,
      max: POOL_SIZE,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      query_timeout: QUERY_TIMEOUT_MS,
      idleTimeoutMillis: 30_000,
      types: TYPES,
      application_name: 'testbed',
    });
    // A connection that breaks while idle (PostgreSQL restarting) is dropped by the pool; without a listener it would crash the process.
    this.#pool.on('error', onIdleError);
  }

  /** The pool itself, for migrations at open. */
  get pool(): pg.Pool {
    return this.#pool;
  }

  prepare(sql: string): Statement {
    return {
      all: async (...params) => (await this.#query(sql, params)).rows,
      get: async (...params) => (await this.#query(sql, params)).rows[0],
      run: async (...params): Promise<RunResult> => ({ changes: (await this.#query(sql, params)).rowCount ?? 0 }),
    };
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#inTransaction.getStore()?.open) return fn();
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw unavailable(err);
    }
    let broken: Error | undefined;
    // A checked-out connection has no listener of the pool's: one that breaks between two queries would crash the process.
    const onError = (err: Error) => (broken = err);
    client.on('error', onError);
    // Work that `fn` starts and leaves running (an event's listener) keeps this context after the commit: it then queries outside.
    const transaction = { client, open: true };
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [TRANSACTION_LOCK]);
      const result = await this.#inTransaction.run(transaction, fn);
      transaction.open = false;
      await client.query('COMMIT');
      return result;
    } catch (err) {
      if (isUnavailable(err)) broken = err as Error;
      else await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw unavailable(err);
    } finally {
      transaction.open = false;
      client.removeListener('error', onError);
      // A connection that failed is closed rather than handed to the next query.
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }

  async #query(sql: string, params: SqlParams): Promise<pg.QueryResult> {
    const stmt = this.#statement(sql);
    const values = bind(stmt, params);
    const transaction = this.#inTransaction.getStore();
    const client = transaction?.open ? transaction.client : undefined;
    try {
      return await (client ?? this.#pool).query({ name: stmt.name, text: stmt.text, values });
    } catch (err) {
      throw unavailable(err);
    }
  }

  #statement(sql: string): PostgresStatement & { readonly name: string } {
    let stmt = this.#cache.get(sql);
    if (!stmt) {
      // Named after its text, so each connection prepares it once and the name is the same on every node.
      stmt = { ...toPostgres(sql), name: `r_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}` };
      this.#cache.set(sql, stmt);
    }
    return stmt;
  }
}

function bind(stmt: PostgresStatement, params: SqlParams): SqlValue[] {
  const first = params[0];
  const byName = first !== null && typeof first === 'object' && !Buffer.isBuffer(first) ? (first as Readonly<Record<string, SqlValue>>) : undefined;
  return stmt.binds.map((b) => {
    const value = typeof b === 'number' ? (params as readonly SqlValue[])[b] : byName?.[b];
    if (value === undefined) throw new Error(`no value for parameter ${typeof b === 'number' ? b + 1 : `@${b}`} of: ${stmt.text}`);
    return value;
  });
}
