import { InfluxDB, setLogger, type WriteApi } from '@influxdata/influxdb-client';
import { type InfluxConfig, TestbedError, type Logger, type Scope } from '../../core/index.js';
import {
  QueryTimeExceeded,
  StoreWriteError,
  type AggregateQuery,
  type DeviceCounts,
  type ErasureCheck,
  type PilotSlice,
  type LatestQuery,
  type LatestRow,
  type RawQuery,
  type Reading,
  type ReadingStore,
  type RefusedReading,
  type SeriesRow,
  type WriteResult,
} from '../types.js';
import { checkErased, countReadings, deleteReadings } from './erase.js';
import { influxIdent, firstResult } from './influxql.js';
import { toLine } from './line-protocol.js';
import { InfluxReader } from './reader.js';
import { InfluxQueryError, REQUEST_TIMEOUT_MS, describeServer, errorText, majorVersion, ping, query, type InfluxServer } from './server.js';
import { v1Transport } from './transport-v1.js';
import { LineWriter, WRITE_OPTIONS } from './writer.js';

/**
 * Readings in InfluxDB: measurement `readings`, tagged by company, device, pilot,
 * profile and testbed, one float field per value, millisecond timestamps.
 *
 * Writes go through the official client's WriteApi, one request per attempt
 * (retrying is the ingest writer's job). InfluxDB 1.x is reached through a
 * transport that sends those writes to its `/write` endpoint; 2.x and 3.x take
 * `/api/v2/write` natively. Reads use InfluxQL over `/query`, which all three share.
 */
export class InfluxStore implements ReadingStore {
  readonly kind = 'influx' as const;
  readonly #server: InfluxServer;
  readonly #reader: InfluxReader;
  readonly #log: Logger;
  /** Set once the server has answered: its version decides how writes reach it. */
  #connection: { api: WriteApi; writer: LineWriter; version: string | undefined } | undefined;
  #connecting: Promise<{ api: WriteApi; writer: LineWriter; version: string | undefined }> | undefined;
  #closed = false;

  private constructor(server: InfluxServer, log: Logger) {
    this.#server = server;
    this.#reader = new InfluxReader(server);
    this.#log = log;
  }

  /** What the server reported in `X-Influxdb-Version`, once it has answered. */
  get serverVersion(): string | undefined {
    return this.#connection?.version;
  }

  /**
   * Opens the store and connects (see `#connect`). A server that does not
   * answer yet does not stop the pipeline: readings wait in the queue on disk
   * and the first write that finds the server up connects. A server that
   * answers and refuses (bad credentials, 2.x without an organisation) fails here.
   */
  static async open(config: InfluxConfig, log: Logger): Promise<InfluxStore> {
    const store = new InfluxStore(describeServer(config), log);
    // The client logs through its own global logger; route it to ours. (Global: the last store opened wins.)
    setLogger({ error: (message, err) => log.error({ err }, message), warn: (message, err) => log.warn({ err }, message) });
    try {
      await store.#connect();
    } catch (err) {
      if (!(err instanceof StoreWriteError && err.retryable)) throw err;
      log.warn({ err }, 'InfluxDB does not answer yet; readings wait in the queue until it does');
    }
    return store;
  }

  /**
   * Asks `/ping` for the server version, and on InfluxDB 1.x creates the
   * database (idempotent there) so a fresh server works. A retention policy
   * named in the bucket must already exist. Unreachable: a retryable StoreWriteError.
   */
  #connect(): Promise<{ api: WriteApi; writer: LineWriter; version: string | undefined }> {
    if (this.#connection) return Promise.resolve(this.#connection);
    this.#connecting ??= this.#handshake().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #handshake(): Promise<{ api: WriteApi; writer: LineWriter; version: string | undefined }> {
    const server = this.#server;
    const log = this.#log;
    let version: string | null;
    try {
      version = (await ping(server)).headers.get('x-influxdb-version');
    } catch (err) {
      throw new StoreWriteError(`InfluxDB at ${server.url} did not answer /ping: ${errorText(err)}`, true, undefined, { cause: err });
    }
    // No version header: not 1.x as we know it, so the native write API.
    const major = majorVersion(version);

    let api: WriteApi;
    if (major === 1) {
      await createDatabase(server, log);
      // Without a token the client's node transport sends no Authorization header; u/p go in the path.
      const inner = new InfluxDB({ url: server.url, token: server.token, timeout: REQUEST_TIMEOUT_MS }).transport;
      const client = new InfluxDB({ url: server.url, timeout: REQUEST_TIMEOUT_MS, transport: v1Transport(inner, server) });
      api = client.getWriteApi('', server.bucket, 'ms', WRITE_OPTIONS);
    } else {
      if (major === 2 && !server.org) throw new Error('InfluxDB 2.x needs an organisation to write to (TESTBED_INFLUX_ORG)');
      const token = server.token ?? (server.user ? `${server.user.username}:${server.user.password}` : undefined);
      const client = new InfluxDB({ url: server.url, token, timeout: REQUEST_TIMEOUT_MS });
      api = client.getWriteApi(server.org ?? '', server.bucket, 'ms', WRITE_OPTIONS);
    }
    log.info({ url: server.url, version, bucket: server.bucket }, 'InfluxDB reading store connected');
    this.#connection = { api, writer: new LineWriter(api), version: version ?? undefined };
    return this.#connection;
  }

  async write(readings: readonly Reading[]): Promise<WriteResult> {
    if (this.#closed) throw new StoreWriteError('the InfluxDB store is closed', false);
    const refused: RefusedReading[] = [];
    const lines: string[] = [];
    // Batch index of each line; only needed once a reading was left out.
    let positions: number[] | undefined;
    for (let i = 0; i < readings.length; i++) {
      const line = toLine(readings[i] as Reading);
      if (typeof line === 'string') {
        lines.push(line);
        positions?.push(i);
      } else {
        refused.push({ index: i, reason: line.reason });
        positions ??= Array.from({ length: lines.length }, (_, j) => j);
      }
    }
    if (lines.length > 0) {
      const { writer } = await this.#connect();
      const result = await writer.write(lines);
      for (const r of result.refused) refused.push({ index: positions ? (positions[r.index] as number) : r.index, reason: r.reason });
      if (result.requests > 1) this.#log.debug({ lines: lines.length, requests: result.requests }, 'InfluxDB refused lines; bisected the batch');
    }
    if (refused.length > 0) {
      refused.sort((a, b) => a.index - b.index);
      this.#log.warn({ readings: readings.length, refused: refused.length, first: refused[0]?.reason }, 'InfluxDB refused readings');
    }
    return { refused };
  }

  async queryRaw(scope: Scope, q: RawQuery): Promise<SeriesRow[]> {
    return this.#read(() => this.#reader.raw(scope, q));
  }

  async queryAggregate(scope: Scope, q: AggregateQuery): Promise<SeriesRow[]> {
    return this.#read(() => this.#reader.aggregate(scope, q));
  }

  async queryLatest(scope: Scope, q: LatestQuery): Promise<LatestRow[]> {
    return this.#read(() => this.#reader.latest(scope, q));
  }

  async countReadings(scope: Scope, slice: PilotSlice): Promise<DeviceCounts> {
    return this.#read(() => countReadings(this.#server, scope, slice));
  }

  async deleteReadings(scope: Scope, slice: PilotSlice): Promise<void> {
    if (scope.kind !== 'all') throw new Error('readings are deleted only in the all scope');
    const { version } = await this.#connect();
    await deleteReadings(this.#server, majorVersion(version ?? null), slice);
  }

  async checkErased(pilotId: string): Promise<ErasureCheck[]> {
    return this.#read(() => checkErased(this.#server, pilotId));
  }

  /** A query that fails is 503 (the store did not answer), except one stopped at its deadline. */
  async #read<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof QueryTimeExceeded) throw err;
      this.#log.warn({ err }, 'InfluxDB query failed');
      throw new TestbedError('TESTBED_STORE_UNAVAILABLE', `InfluxDB query failed: ${errorText(err)}`);
    }
  }

  /** True when `/ping` answers 2xx (204 on 1.x and 2.x). */
  async ping(): Promise<boolean> {
    try {
      return (await ping(this.#server, 2_000)).ok;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#connection?.api.close();
  }
}

/**
 * `CREATE DATABASE` is idempotent on 1.x. A user who may write but is not an
 * admin is refused it (403); the database then has to exist already, which the
 * first write will show.
 */
async function createDatabase(server: InfluxServer, log: Logger): Promise<void> {
  try {
    firstResult(await query(server, `CREATE DATABASE ${influxIdent(server.db)}`, { method: 'POST', db: false }));
  } catch (err) {
    if (err instanceof InfluxQueryError && err.status === 403) {
      log.warn({ db: server.db, err }, 'may not create the InfluxDB database; assuming it exists');
      return;
    }
    throw new Error(`could not create InfluxDB database ${server.db}: ${errorText(err)}`, { cause: err });
  }
}
