import { AsyncLocalStorage } from 'node:async_hooks';
import type BetterSqlite3 from 'better-sqlite3';
import type { Database, RunResult, Statement } from './database.js';

/**
 * The embedded registry database: better-sqlite3 behind the async seam. Each
 * query runs synchronously when it is called; the promise only carries the
 * result. SQLite has one connection, so while a transaction is open (it may
 * await between its queries) every query from outside it waits its turn, and
 * transactions run one after the other.
 */
export class SqliteDatabase implements Database {
  readonly dialect = 'sqlite';
  readonly #db: BetterSqlite3.Database;
  readonly #cache = new Map<string, BetterSqlite3.Statement>();
  readonly #inTransaction = new AsyncLocalStorage<true>();
  /** Settles when the last transaction queued so far has ended. */
  #tail: Promise<void> = Promise.resolve();
  #open = 0;

  constructor(db: BetterSqlite3.Database) {
    this.#db = db;
  }

  /** The better-sqlite3 handle, for migrations and pragmas at open. */
  get raw(): BetterSqlite3.Database {
    return this.#db;
  }

  prepare(sql: string): Statement {
    return {
      all: async (...params) => {
        if (this.#open > 0) await this.#turn();
        return this.#statement(sql).all(...(params as unknown[]));
      },
      get: async (...params) => {
        if (this.#open > 0) await this.#turn();
        return this.#statement(sql).get(...(params as unknown[]));
      },
      run: async (...params): Promise<RunResult> => {
        if (this.#open > 0) await this.#turn();
        return { changes: this.#statement(sql).run(...(params as unknown[])).changes };
      },
    };
  }

  transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#inTransaction.getStore()) return fn();
    const run = async (): Promise<T> => {
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        const result = await this.#inTransaction.run(true, fn);
        this.#db.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
        throw err;
      } finally {
        this.#open -= 1;
      }
    };
    this.#open += 1;
    const result = this.#tail.then(run);
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  async close(): Promise<void> {
    await this.#tail;
    this.#db.close();
  }

  /** Outside a transaction, waits until none is open; inside one, goes straight on. */
  async #turn(): Promise<void> {
    if (this.#inTransaction.getStore()) return;
    while (this.#open > 0) await this.#tail;
  }

  #statement(sql: string): BetterSqlite3.Statement {
    let stmt = this.#cache.get(sql);
    if (!stmt) {
      stmt = this.#db.prepare(sql);
      this.#cache.set(sql, stmt);
    }
    return stmt;
  }
}
