import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import BetterSqlite3, { type Database, type Statement } from 'better-sqlite3';
import { type Scope, scopeCondition } from '../../core/index.js';
import {
  StoreWriteError,
  type AggregateQuery,
  type DeviceCounts,
  type DeviceQuery,
  type ErasureCheck,
  type PilotRejectionRow,
  type PilotSlice,
  type LatestQuery,
  type LatestRow,
  type RawQuery,
  type SeriesRow,
  type Reading,
  type ReadingStore,
  type Rejection,
  type RejectionLog,
  type RejectionRow,
  type WriteResult,
} from '../types.js';
import { EmbeddedQueries } from './queries.js';
import { configure, migrate } from './schema.js';

interface Reply {
  id: number;
  ok: boolean;
  changed?: number;
  message?: string;
  code?: string;
}

/** Rows one deletion step removes: a few milliseconds of the writer's time, so ingest batches get in between. */
const DELETE_SLICE_ROWS = 5000;

const MAX_TIME = Number.MAX_SAFE_INTEGER;

/**
 * The embedded store: `readings.db` in the data folder. Writes go to a worker
 * thread that owns the writing connection; reads use a read-only connection
 * here, which WAL mode lets run beside the writer.
 */
export class EmbeddedStore implements ReadingStore, RejectionLog {
  readonly kind = 'embedded' as const;
  readonly #worker: Worker;
  readonly #reader: Database;
  readonly #pending = new Map<number, { resolve: (changed: number) => void; reject: (e: Error) => void }>();
  readonly #queries: EmbeddedQueries;
  readonly #rejections = new Map<Scope['kind'], Statement>();
  readonly #exited: Promise<void>;
  #nextId = 1;
  #closed = false;

  private constructor(worker: Worker, reader: Database) {
    this.#worker = worker;
    this.#reader = reader;
    worker.on('message', (reply: Reply) => this.#settle(reply));
    worker.on('error', (err) => this.#failAll(err));
    this.#exited = new Promise((resolve) => {
      worker.once('exit', () => {
        this.#failAll(new Error('the embedded store writer stopped'));
        resolve();
      });
    });
    this.#queries = new EmbeddedQueries(reader);
  }

  /** Opens `readings.db` in `dataDir`, starting the writer and waiting until it is ready. */
  static async open(dataDir: string): Promise<EmbeddedStore> {
    fs.mkdirSync(dataDir, { recursive: true });
    const file = path.join(dataDir, 'readings.db');
    // Create the schema here first so the reader can prepare its statements at once.
    const setup = new BetterSqlite3(file);
    configure(setup);
    migrate(setup);
    setup.close();

    const worker = new Worker(new URL('./writer.worker.js', import.meta.url), { workerData: { file } });
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    const reader = new BetterSqlite3(file, { readonly: true });
    reader.pragma('busy_timeout = 5000');
    return new EmbeddedStore(worker, reader);
  }

  async write(readings: readonly Reading[], encoded?: Buffer): Promise<WriteResult> {
    // The encoded batch's memory moves to the writer, which parses it: this thread copies no reading objects.
    if (readings.length > 0) await (encoded === undefined ? this.#send('readings', readings) : this.#send('encoded', undefined, { encoded }, encoded));
    return { refused: [] };
  }

  async writeRejections(rejections: readonly Rejection[]): Promise<void> {
    if (rejections.length > 0) await this.#send('rejections', rejections);
  }

  async deleteRejectionsBefore(time: number): Promise<void> {
    await this.#send('prune', [time]);
  }

  async queryRaw(scope: Scope, q: RawQuery): Promise<SeriesRow[]> {
    this.#checkOpen();
    return this.#queries.raw(scope, q);
  }

  async queryAggregate(scope: Scope, q: AggregateQuery): Promise<SeriesRow[]> {
    this.#checkOpen();
    return this.#queries.aggregate(scope, q);
  }

  async queryLatest(scope: Scope, q: LatestQuery): Promise<LatestRow[]> {
    this.#checkOpen();
    return this.#queries.latest(scope, q);
  }

  async queryRejections(scope: Scope, q: DeviceQuery): Promise<RejectionRow[]> {
    this.#checkOpen();
    const condition = scopeCondition(scope, { company: 'company_id', testbed: 'testbed_id', pilot: 'pilot_id' });
    let stmt = this.#rejections.get(scope.kind);
    if (!stmt) {
      stmt = this.#reader.prepare(
        `SELECT time, code, reason, payload, payload_encoding AS payloadEncoding, payload_bytes AS payloadBytes FROM rejections
         WHERE device_id = ? AND (${condition.sql}) AND time >= ? AND time < ?
         ORDER BY time, id LIMIT ?`,
      );
      this.#rejections.set(scope.kind, stmt);
    }
    return stmt.all(q.deviceId, ...condition.params, q.from ?? 0, q.to ?? MAX_TIME, q.limit) as RejectionRow[];
  }

  async pilotRejections(scope: Scope, q: { pilotId: string; afterId: number; limit: number }): Promise<PilotRejectionRow[]> {
    this.#checkOpen();
    const condition = scopeCondition(scope, { company: 'company_id', testbed: 'testbed_id', pilot: 'pilot_id' });
    return this.#reader
      .prepare(
        `SELECT id, device_id AS deviceId, time, code, reason, payload, payload_encoding AS payloadEncoding, payload_bytes AS payloadBytes
         FROM rejections WHERE pilot_id = ? AND (${condition.sql}) AND id > ? ORDER BY id LIMIT ?`,
      )
      .all(q.pilotId, ...condition.params, q.afterId, q.limit) as PilotRejectionRow[];
  }

  async countRejections(pilotId: string): Promise<DeviceCounts> {
    this.#checkOpen();
    return this.#counts('SELECT device_id AS d, count(*) AS n FROM rejections WHERE pilot_id = ? GROUP BY device_id', pilotId);
  }

  async deleteRejections(pilotId: string): Promise<void> {
    // Only erasure deletes a pilot's rejections: their bytes go from the file and its write-ahead log too.
    // Always (a resumed erasure may find the rows already gone, but not yet their bytes).
    await this.#send('deleteRejections', undefined, { pilotId });
    await this.#send('vacuum');
  }

  async countReadings(scope: Scope, slice: PilotSlice): Promise<DeviceCounts> {
    this.#checkOpen();
    const condition = scopeCondition(scope, { company: 'company_id', testbed: 'testbed_id', pilot: 'pilot_id' });
    const sql = `SELECT device_id AS d, count(*) AS n FROM readings WHERE pilot_id = ? AND time < ? AND (${condition.sql}) GROUP BY device_id`;
    return this.#counts(sql, slice.pilotId, slice.before ?? MAX_TIME, ...condition.params);
  }

  async deleteReadings(scope: Scope, slice: PilotSlice): Promise<void> {
    // Only the admin's scope deletes: erasure and retention act for the testbed, not for a tenant.
    if (scope.kind !== 'all') throw new Error('readings are deleted only in the all scope');
    const target = { pilotId: slice.pilotId, before: slice.before, limit: DELETE_SLICE_ROWS };
    while ((await this.#send('deleteSlice', undefined, target)) === DELETE_SLICE_ROWS);
    await this.#send('deleteLatest', undefined, target);
    if (slice.before === undefined) await this.#send('vacuum');
  }

  async checkErased(pilotId: string): Promise<ErasureCheck[]> {
    this.#checkOpen();
    return ['readings', 'latest', 'rejections'].map((table) => {
      const query = `SELECT count(*) FROM ${table} WHERE pilot_id = ?`;
      return { store: 'embedded', query, result: (this.#reader.prepare(query).pluck().get(pilotId) as number) ?? 0 };
    });
  }

  #counts(sql: string, ...params: unknown[]): DeviceCounts {
    const rows = this.#reader.prepare(sql).all(...params) as { d: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.d, r.n]));
  }

  /** A read after close fails as the closed connection would, before any statement is prepared on it. */
  #checkOpen(): void {
    if (!this.#reader.open) throw new Error('the embedded store is closed');
  }

  async ping(): Promise<boolean> {
    return !this.#closed;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    // The reply and the exit can arrive in either order, in one tick; wait for the exit.
    await Promise.all([this.#send('close').catch(() => undefined), this.#exited]);
    this.#closed = true;
    this.#reader.close();
  }

  /** Sends an operation to the writer; resolves with the rows it changed (for maintenance operations). */
  #send(op: string, rows?: readonly unknown[], args: object = {}, transfer?: Buffer): Promise<number> {
    if (this.#closed) return Promise.reject(new StoreWriteError('the embedded store is closed', false));
    const id = this.#nextId++;
    return new Promise<number>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      // Only a buffer with an ArrayBuffer of its own is moved; one cut from Node's shared pool is copied.
      const movable = transfer && transfer.byteOffset === 0 && transfer.byteLength === transfer.buffer.byteLength;
      this.#worker.postMessage({ ...args, id, op, rows }, movable ? [transfer.buffer as ArrayBuffer] : []);
    });
  }

  #settle(reply: Reply): void {
    const waiter = this.#pending.get(reply.id);
    if (!waiter) return;
    this.#pending.delete(reply.id);
    if (reply.ok) waiter.resolve(reply.changed ?? 0);
    // A failed transaction stored nothing; disk full or a busy file may clear, so retry.
    else waiter.reject(new StoreWriteError(`embedded store: ${reply.message ?? 'write failed'}`, true));
  }

  #failAll(err: Error): void {
    for (const waiter of this.#pending.values()) waiter.reject(new StoreWriteError(err.message, false, undefined, { cause: err }));
    this.#pending.clear();
  }
}
