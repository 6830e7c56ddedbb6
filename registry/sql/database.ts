/** A value a query binds: what both SQLite and PostgreSQL store without conversion. */
export type SqlValue = string | number | bigint | Buffer | null;

/**
 * The parameters of one query: positional (`?` in the SQL), or one object of
 * named ones (`@name`).
 */
export type SqlParams = readonly SqlValue[] | readonly [Readonly<Record<string, SqlValue>>];

/** What a write did: how many rows it changed. */
export interface RunResult {
  readonly changes: number;
}

/** One query's SQL, bound to its database, run as often as asked. Results are plain rows; the caller names their type. */
export interface Statement {
  all(...params: SqlParams): Promise<unknown[]>;
  get(...params: SqlParams): Promise<unknown>;
  run(...params: SqlParams): Promise<RunResult>;
}

/**
 * The registry's database seam: the few operations every table needs, async so
 * that an embedded SQLite and a networked PostgreSQL serve the same tables.
 * SQL is written once: `?` placeholders, `ON CONFLICT`, `RETURNING`, integers
 * for booleans and epoch-ms times.
 *
 * A query made inside `transaction(fn)`, by whatever statement, runs in that
 * transaction (the implementation follows the async context), so table code
 * needs no transaction handle; queries from outside wait until it ends.
 */
export interface Database {
  readonly dialect: 'sqlite' | 'postgres';
  prepare(sql: string): Statement;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. Nested calls join the outer one. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
