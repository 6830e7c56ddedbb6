import type { Database, Statement } from './sql/database.js';
import { newId, type Command, type CommandResult, type CommandStatus, type Device, type Scope } from '../core/index.js';
import { DEVICE_COLUMNS, ScopedStatements } from './statements.js';

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

interface CommandRow {
  id: string;
  device_id: string;
  pilot_id: string;
  company_id: string;
  testbed_id: string;
  name: string;
  params: string;
  status: CommandStatus;
  sent_by: string;
  created_at: number;
  expires_at: number;
  delivered_at: number | null;
  finished_at: number | null;
  result: string | null;
  error: string | null;
}

/**
 * A stored command as it stands at `now`: one still open past its TTL is
 * shown expired at its TTL, before the sweep has written it so, so that no
 * read shows it pending a moment too long.
 */
function asOf(r: CommandRow, now: number): Command {
  const overdue = (r.status === 'queued' || r.status === 'delivered') && r.expires_at <= now;
  return toCommand(overdue ? { ...r, status: 'expired', finished_at: r.expires_at } : r);
}

function toCommand(r: CommandRow): Command {
  const transitions: Command['transitions'] = [{ status: 'queued', at: iso(r.created_at) }];
  if (r.delivered_at !== null) transitions.push({ status: 'delivered', at: iso(r.delivered_at) });
  if (r.finished_at !== null) transitions.push({ status: r.status, at: iso(r.finished_at) });
  return {
    id: r.id,
    deviceId: r.device_id,
    pilotId: r.pilot_id,
    companyId: r.company_id,
    testbedId: r.testbed_id,
    name: r.name,
    params: JSON.parse(r.params) as Record<string, unknown>,
    status: r.status,
    sentBy: r.sent_by,
    createdAt: iso(r.created_at),
    expiresAt: iso(r.expires_at),
    deliveredAt: isoOrNull(r.delivered_at),
    finishedAt: isoOrNull(r.finished_at),
    ...(r.result === null ? {} : { result: JSON.parse(r.result) as unknown }),
    error: r.error,
    transitions,
  };
}

export interface NewCommand {
  readonly name: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly ttlSeconds: number;
}

export interface CommandFilter {
  readonly status?: CommandStatus | undefined;
  /** The newest this many; default 100. */
  readonly limit?: number | undefined;
}

/**
 * Why a device's result was not recorded: `unknown` (no such command of the
 * device), `finished` (final already with another outcome, or past its TTL),
 * `repeated` (the outcome it already has: a resent answer changes nothing).
 */
export type ResultRefusal = 'unknown' | 'finished' | 'repeated';

const OPEN = "status IN ('queued', 'delivered')";
/** A command's status as `asOf` shows it, in SQL; its one parameter is now. */
const STATUS_AS_OF = `CASE WHEN ${OPEN} AND expires_at <= ? THEN 'expired' ELSE status END`;

/**
 * Commands to devices. Reads for the API take a scope; the gateway's calls
 * take the device id of the connection, which is who is identified.
 */
export class CommandTable {
  readonly #db: Database;
  readonly #now: () => number;
  readonly #scoped: ScopedStatements;
  readonly #stmts: Record<'insert' | 'byId' | 'pending' | 'deliver' | 'finish' | 'overdue' | 'expire', Statement>;

  constructor(db: Database, now: () => number) {
    this.#db = db;
    this.#now = now;
    this.#scoped = new ScopedStatements(db);
    this.#stmts = {
      insert: db.prepare(
        `INSERT INTO commands (id, device_id, pilot_id, company_id, testbed_id, name, params, status, sent_by, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)`,
      ),
      byId: db.prepare('SELECT * FROM commands WHERE id = ? AND device_id = ?'),
      pending: db.prepare("SELECT * FROM commands WHERE device_id = ? AND status = 'queued' AND expires_at > ? ORDER BY seq"),
      deliver: db.prepare("UPDATE commands SET status = 'delivered', delivered_at = ? WHERE id = ? AND device_id = ? AND status = 'queued' AND expires_at > ?"),
      // An answer proves the command arrived, even when it came before the PUBACK (a device may answer first).
      finish: db.prepare(
        `UPDATE commands SET status = ?, delivered_at = COALESCE(delivered_at, ?), finished_at = ?, result = ?, error = ? WHERE id = ? AND device_id = ? AND ${OPEN}`,
      ),
      overdue: db.prepare(`SELECT * FROM commands WHERE ${OPEN} AND expires_at <= ? ORDER BY seq`),
      // Expired at the instant its TTL ran out, whenever the sweep comes by.
      expire: db.prepare(`UPDATE commands SET status = 'expired', finished_at = expires_at WHERE id = ? AND ${OPEN}`),
    };
  }

  /** Queues a command for `device` (already found in the caller's scope). */
  async create(device: Device, input: NewCommand, sentBy: string): Promise<Command> {
    const id = newId('cmd');
    const at = this.#now();
    const s = this.#stmts;
    await s.insert.run(
      id,
      device.id,
      device.pilotId,
      device.companyId,
      device.testbedId,
      input.name,
      JSON.stringify(input.params),
      sentBy,
      at,
      at + input.ttlSeconds * 1000,
    );
    return toCommand((await s.byId.get(id, device.id)) as CommandRow);
  }

  async get(scope: Scope, deviceId: string, id: string): Promise<Command | undefined> {
    const { stmt, scopeParams } = this.#scoped.get(
      'get',
      scope,
      DEVICE_COLUMNS,
      (where) => `SELECT * FROM commands WHERE id = ? AND device_id = ? AND (${where})`,
    );
    const row = (await stmt.get(id, deviceId, ...scopeParams)) as CommandRow | undefined;
    return row && asOf(row, this.#now());
  }

  /** A device's commands the scope may see, newest first. */
  async list(scope: Scope, deviceId: string, filter: CommandFilter): Promise<Command[]> {
    const { stmt, scopeParams } = this.#scoped.get(
      'list',
      scope,
      DEVICE_COLUMNS,
      (where) => `SELECT * FROM commands WHERE device_id = ? AND (? IS NULL OR ${STATUS_AS_OF} = ?) AND (${where}) ORDER BY seq DESC LIMIT ?`,
    );
    const status = filter.status ?? null;
    const now = this.#now();
    return ((await stmt.all(deviceId, status, now, status, ...scopeParams, filter.limit ?? 100)) as CommandRow[]).map((r) => asOf(r, now));
  }

  /** The device's queued commands that have not expired, in the order they were sent. */
  async pending(deviceId: string): Promise<Command[]> {
    return ((await this.#stmts.pending.all(deviceId, this.#now())) as CommandRow[]).map(toCommand);
  }

  /** Marks a queued command delivered (its PUBACK came); undefined when it was not queued or has expired. */
  async delivered(deviceId: string, id: string): Promise<Command | undefined> {
    const changed = (await this.#stmts.deliver.run(this.#now(), id, deviceId, this.#now())).changes;
    return changed === 1 ? toCommand((await this.#stmts.byId.get(id, deviceId)) as CommandRow) : undefined;
  }

  /** Records the device's answer; refused for another device's or an unknown command, or one already final. */
  async answer(deviceId: string, id: string, result: CommandResult): Promise<Command | ResultRefusal> {
    return this.#db.transaction(async () => {
      const row = (await this.#stmts.byId.get(id, deviceId)) as CommandRow | undefined;
      if (!row) return 'unknown';
      const now = this.#now();
      const status = result.ok ? 'succeeded' : 'failed';
      if (row.status === status) return 'repeated';
      // An answer after the TTL is too late: the sweep marks the command expired, as the sender was told it would be.
      if ((row.status !== 'queued' && row.status !== 'delivered') || row.expires_at <= now) return 'finished';
      const stored = result.result === undefined ? null : JSON.stringify(result.result);
      await this.#stmts.finish.run(status, now, now, stored, result.error ?? null, id, deviceId);
      return toCommand((await this.#stmts.byId.get(id, deviceId)) as CommandRow);
    });
  }

  /** Marks every queued or delivered command past its TTL expired, and returns them. */
  async expire(): Promise<Command[]> {
    return this.#db.transaction(async () => {
      const now = this.#now();
      const rows = (await this.#stmts.overdue.all(now)) as CommandRow[];
      for (const row of rows) await this.#stmts.expire.run(row.id);
      return rows.map((r) => toCommand({ ...r, status: 'expired', finished_at: r.expires_at }));
    });
  }
}
