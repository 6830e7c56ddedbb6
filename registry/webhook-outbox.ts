import type { Database, Statement } from './sql/database.js';
import { newId, type WebhookEvent } from '../core/index.js';

/** An event to be sent to every webhook it matches, placed like the event. */
export interface OutboxEvent {
  readonly type: WebhookEvent;
  readonly testbedId: string;
  readonly companyId: string | undefined;
  readonly pilotId: string | undefined;
  /** The request body, the same for every webhook. */
  readonly body: string;
  /** Epoch ms. */
  readonly at: number;
}

/** A message due for an attempt. */
export interface DueMessage {
  /** The `webhook-id`: the same on every attempt. */
  readonly id: string;
  readonly webhookId: string;
  readonly url: string;
  readonly secret: string;
  readonly body: string;
  /** Attempts made so far. */
  readonly attempts: number;
}

/** What one attempt came to. */
export interface AttemptRecord {
  readonly messageId: string;
  readonly attempt: number;
  readonly at: number;
  readonly statusCode: number | null;
  readonly error: string | null;
  readonly durationMs: number;
  /** When to try again; null: no more attempts (delivered, or the schedule is spent). */
  readonly nextAttemptAt: number | null;
  readonly delivered: boolean;
}

/**
 * The webhook outbox, in the registry database: messages wait here until a
 * receiver answers 2xx or their schedule runs out, so they survive a restart.
 * Only the composition root's webhook dispatcher uses it; it writes in batches
 * (one transaction per batch of events, one per batch of attempts).
 */
export interface WebhookOutbox {
  /** Makes a message for each webhook that wants each event; answers how many. */
  enqueue(events: readonly OutboxEvent[]): Promise<number>;
  /** Pending messages due at `now`, oldest first. */
  due(now: number, limit: number): Promise<DueMessage[]>;
  /** Epoch ms of the earliest pending attempt, if any. */
  nextDue(): Promise<number | undefined>;
  record(attempts: readonly AttemptRecord[]): Promise<void>;
}

interface WebhookRow {
  readonly id: string;
  readonly events: string;
  readonly testbed_id: string | null;
  readonly company_id: string | null;
  readonly pilot_id: string | null;
}

/** A webhook's target column admits an event when it is unset or names the event's place. */
const matches = (column: string | null, value: string | null | undefined): boolean => column === null || column === value;

export class SqlWebhookOutbox implements WebhookOutbox {
  readonly #enqueue: (events: readonly OutboxEvent[]) => Promise<number>;
  readonly #record: (attempts: readonly AttemptRecord[]) => Promise<void>;
  readonly #due: Statement;
  readonly #nextDue: Statement;

  constructor(db: Database) {
    // Every webhook, read once per batch of events and matched here: a connect storm's thousands of events cost one
    // query, not one each (each a round trip on PostgreSQL). There are few webhooks; there can be many events.
    const webhooks = db.prepare('SELECT id, events, testbed_id, company_id, pilot_id FROM webhooks');
    const insert = db.prepare('INSERT INTO webhook_messages (id, webhook_id, event_type, body, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)');
    this.#enqueue = (events) =>
      db.transaction(async () => {
        const hooks = ((await webhooks.all()) as WebhookRow[]).map((w) => ({ ...w, wants: new Set(JSON.parse(w.events) as string[]) }));
        if (hooks.length === 0) return 0;
        let made = 0;
        for (const e of events) {
          for (const w of hooks) {
            // A webhook wants an event when it subscribed to its type and each target column it has matches the event's.
            if (!w.wants.has(e.type) || !matches(w.testbed_id, e.testbedId) || !matches(w.company_id, e.companyId) || !matches(w.pilot_id, e.pilotId)) continue;
            await insert.run(newId('msg'), w.id, e.type, e.body, e.at, e.at);
            made++;
          }
        }
        return made;
      });
    const attempt = db.prepare(
      `INSERT INTO webhook_attempts (message_id, attempt, at, status_code, error, duration_ms, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (message_id, attempt) DO UPDATE SET at = excluded.at, status_code = excluded.status_code, error = excluded.error,
         duration_ms = excluded.duration_ms, next_attempt_at = excluded.next_attempt_at`,
    );
    const update = db.prepare('UPDATE webhook_messages SET state = ?, attempts = ?, next_attempt_at = ? WHERE id = ?');
    this.#record = (attempts) =>
      db.transaction(async () => {
        for (const a of attempts) {
          const state = a.delivered ? 'delivered' : a.nextAttemptAt === null ? 'failed' : 'pending';
          // A webhook deleted while its message was in flight took the message with it.
          if ((await update.run(state, a.attempt, a.nextAttemptAt, a.messageId)).changes === 0) continue;
          await attempt.run(a.messageId, a.attempt, a.at, a.statusCode, a.error, a.durationMs, a.nextAttemptAt);
        }
      });
    this.#due = db.prepare(
      `SELECT m.id, m.webhook_id AS webhookId, w.url, w.secret, m.body, m.attempts FROM webhook_messages m JOIN webhooks w ON w.id = m.webhook_id
       WHERE m.state = 'pending' AND m.next_attempt_at <= ? ORDER BY m.next_attempt_at, m.created_at LIMIT ?`,
    );
    this.#nextDue = db.prepare("SELECT MIN(next_attempt_at) AS at FROM webhook_messages WHERE state = 'pending'");
  }

  async enqueue(events: readonly OutboxEvent[]): Promise<number> {
    return events.length === 0 ? 0 : this.#enqueue(events);
  }

  async due(now: number, limit: number): Promise<DueMessage[]> {
    return (await this.#due.all(now, limit)) as DueMessage[];
  }

  async nextDue(): Promise<number | undefined> {
    return ((await this.#nextDue.get()) as { at: number | null }).at ?? undefined;
  }

  async record(attempts: readonly AttemptRecord[]): Promise<void> {
    if (attempts.length > 0) await this.#record(attempts);
  }
}
