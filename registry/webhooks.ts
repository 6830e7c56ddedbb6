import { randomBytes } from 'node:crypto';
import type { Database, Statement } from './sql/database.js';
import { newId, type Scope, type Webhook, type WebhookDelivery, type WebhookEvent } from '../core/index.js';
import { ScopedStatements, DEVICE_COLUMNS } from './statements.js';

/** Where a new webhook sits and what it wants; the registry resolves it from the caller and the target. */
export interface NewWebhookRow {
  readonly url: string;
  readonly events: readonly WebhookEvent[];
  readonly companyId: string | null;
  readonly testbedId: string | null;
  readonly pilotId: string | null;
  readonly createdBy: string | null;
}

interface WebhookRow {
  id: string;
  url: string;
  events: string;
  company_id: string | null;
  testbed_id: string | null;
  pilot_id: string | null;
  created_by: string | null;
  created_at: number;
}

const toWebhook = (r: WebhookRow): Webhook => ({
  id: r.id,
  url: r.url,
  events: JSON.parse(r.events) as WebhookEvent[],
  companyId: r.company_id,
  testbedId: r.testbed_id,
  pilotId: r.pilot_id,
  createdBy: r.created_by,
  createdAt: new Date(r.created_at).toISOString(),
});

interface MessageRow {
  id: string;
  event_type: WebhookEvent;
  created_at: number;
  state: WebhookDelivery['state'];
  next_attempt_at: number | null;
}
interface AttemptRow {
  message_id: string;
  attempt: number;
  at: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  next_attempt_at: number | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const COLUMNS = 'id, url, events, company_id, testbed_id, pilot_id, created_by, created_at';

/**
 * A signing secret in the Standard Webhooks form: `whsec_` and the base64 of
 * 24 random bytes, the key of the HMAC.
 */
export const newWebhookSecret = (): string => `whsec_${randomBytes(24).toString('base64')}`;

/** Webhooks as their owners see them: scoped like the devices table, by the columns that place them. */
export class WebhookTable {
  readonly #now: () => number;
  readonly #scoped: ScopedStatements;
  readonly #insert: Statement;
  readonly #delete: Statement;
  readonly #messages: Statement;
  readonly #attempts: Statement;

  constructor(db: Database, now: () => number) {
    this.#now = now;
    this.#scoped = new ScopedStatements(db);
    this.#insert = db.prepare(
      'INSERT INTO webhooks (id, url, events, secret, company_id, testbed_id, pilot_id, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.#delete = db.prepare('DELETE FROM webhooks WHERE id = ?');
    this.#messages = db.prepare(
      'SELECT id, event_type, created_at, state, next_attempt_at FROM webhook_messages WHERE webhook_id = ? ORDER BY created_at DESC, id LIMIT ?',
    );
    this.#attempts = db.prepare(
      `SELECT a.* FROM webhook_attempts a JOIN webhook_messages m ON m.id = a.message_id
       WHERE m.id IN (SELECT value FROM json_each(?)) ORDER BY a.attempt`,
    );
  }

  /** Stores a webhook with a new secret; the secret is answered once, here. */
  async create(input: NewWebhookRow): Promise<{ webhook: Webhook; secret: string }> {
    const row: WebhookRow = {
      id: newId('wh'),
      url: input.url,
      events: JSON.stringify([...new Set(input.events)]),
      company_id: input.companyId,
      testbed_id: input.testbedId,
      pilot_id: input.pilotId,
      created_by: input.createdBy,
      created_at: this.#now(),
    };
    const secret = newWebhookSecret();
    await this.#insert.run(row.id, row.url, row.events, secret, row.company_id, row.testbed_id, row.pilot_id, row.created_by, row.created_at);
    return { webhook: toWebhook(row), secret };
  }

  async get(scope: Scope, id: string): Promise<Webhook | undefined> {
    const { stmt, scopeParams } = this.#scoped.get('get', scope, DEVICE_COLUMNS, (where) => `SELECT ${COLUMNS} FROM webhooks WHERE id = ? AND (${where})`);
    const row = (await stmt.get(id, ...scopeParams)) as WebhookRow | undefined;
    return row && toWebhook(row);
  }

  async list(scope: Scope): Promise<Webhook[]> {
    const { stmt, scopeParams } = this.#scoped.get(
      'list',
      scope,
      DEVICE_COLUMNS,
      (where) => `SELECT ${COLUMNS} FROM webhooks WHERE ${where} ORDER BY created_at, id`,
    );
    return ((await stmt.all(...scopeParams)) as WebhookRow[]).map(toWebhook);
  }

  /** Deletes a webhook the scope sees, with its messages: nothing more is sent to it. */
  async delete(scope: Scope, id: string): Promise<Webhook | undefined> {
    const webhook = await this.get(scope, id);
    if (webhook) await this.#delete.run(id);
    return webhook;
  }

  /** The newest `limit` messages of a webhook the scope sees, each with its attempts. */
  async deliveries(scope: Scope, id: string, limit: number): Promise<WebhookDelivery[] | undefined> {
    if (!(await this.get(scope, id))) return undefined;
    const messages = (await this.#messages.all(id, limit)) as MessageRow[];
    const attempts = (await this.#attempts.all(JSON.stringify(messages.map((m) => m.id)))) as AttemptRow[];
    return messages.map((m) => ({
      id: m.id,
      eventType: m.event_type,
      createdAt: new Date(m.created_at).toISOString(),
      state: m.state,
      nextAttemptAt: iso(m.state === 'pending' ? m.next_attempt_at : null),
      attempts: attempts
        .filter((a) => a.message_id === m.id)
        .map((a) => ({
          attempt: a.attempt,
          at: new Date(a.at).toISOString(),
          statusCode: a.status_code,
          error: a.error,
          durationMs: a.duration_ms,
          nextAttemptAt: iso(a.next_attempt_at),
        })),
    }));
  }
}
