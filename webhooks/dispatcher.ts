import { WEBHOOK_EVENTS, type EventBus, type Logger, type TestbedEvent, type WebhookEvent, type WebhookUrlPolicy } from '../core/index.js';
import type { AttemptRecord, DueMessage, OutboxEvent, WebhookOutbox } from '../registry/index.js';
import { post, type PostResult } from './deliver.js';
import { webhookHeaders } from './signature.js';

/** How often the outbox is read for due messages, and how soon new events are written to it. */
const POLL_MS = 250;
const FLUSH_MS = 50;
/** Deliveries in flight at once. */
const CONCURRENCY = 8;
/** How long a stop waits for deliveries in flight; the rest are attempted again after the next start. */
const STOP_GRACE_MS = 3000;

export interface WebhookDispatcherDeps {
  readonly bus: EventBus;
  readonly outbox: WebhookOutbox;
  readonly policy: WebhookUrlPolicy;
  readonly log: Logger;
  /** The waits between attempts, in ms; after the last a message fails for good. */
  readonly retryDelaysMs: readonly number[];
}

export interface WebhookDispatcher {
  /** Writes what is buffered, waits a moment for deliveries in flight, and stops. */
  stop(): Promise<void>;
}

const isWebhookEvent = (type: string): type is WebhookEvent => (WEBHOOK_EVENTS as readonly string[]).includes(type);

/**
 * The Standard Webhooks body of an event: its type, its time and its fields,
 * with where it happened.
 */
export function payloadOf(event: TestbedEvent & { type: WebhookEvent }): OutboxEvent {
  const { type, at, testbedId, companyId, pilotId, deviceId, data } = event;
  const body = JSON.stringify({ type, timestamp: new Date(at).toISOString(), data: { testbedId, companyId, pilotId, deviceId, ...data } });
  return { type, testbedId, companyId, pilotId, body, at };
}

/**
 * Sends the bus's events to the webhooks that want them. The bus listener
 * only buffers (it runs on the publisher's turn); a timer writes the buffer to
 * the outbox in one transaction, and a loop posts due messages, records each
 * attempt and schedules the next by `retryDelaysMs`. A message is marked
 * delivered only after a 2xx answer, so a crash between the two repeats it with
 * the same `webhook-id`: at least once.
 */
export function startWebhookDispatcher(deps: WebhookDispatcherDeps): WebhookDispatcher {
  const log = deps.log.child({ stage: 'webhooks' });
  const events: OutboxEvent[] = [];
  const attempts: AttemptRecord[] = [];
  const inFlight = new Map<string, Promise<void>>();
  let flushTimer: NodeJS.Timeout | undefined;
  let stopping = false;

  const flush = async () => {
    flushTimer = undefined;
    try {
      if (events.length > 0) await deps.outbox.enqueue(events.splice(0));
      await deps.outbox.record(attempts.splice(0));
    } catch (err) {
      log.error({ err }, 'could not write to the webhook outbox');
    }
  };
  const soon = () => {
    flushTimer ??= setTimeout(() => void flush(), FLUSH_MS);
  };

  const unsubscribe = deps.bus.on((event) => {
    if (stopping || !isWebhookEvent(event.type)) return;
    events.push(payloadOf(event as TestbedEvent & { type: WebhookEvent }));
    soon();
  });

  const outcome = (message: DueMessage, at: number, result: PostResult): AttemptRecord => {
    const attempt = message.attempts + 1;
    const delivered = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
    const wait = deps.retryDelaysMs[attempt - 1];
    const nextAttemptAt = delivered || wait === undefined ? null : Date.now() + wait;
    const error = result.error ?? (delivered ? null : `the receiver answered ${result.statusCode}`);
    if (!delivered) log.warn({ webhookId: message.webhookId, messageId: message.id, attempt, error, nextAttemptAt }, 'webhook delivery failed');
    return { messageId: message.id, attempt, at, statusCode: result.statusCode, error, durationMs: result.durationMs, nextAttemptAt, delivered };
  };

  const send = async (message: DueMessage) => {
    const at = Date.now();
    const result = await post(deps.policy, message.url, webhookHeaders(message.secret, message.id, message.body, at), message.body);
    attempts.push(outcome(message, at, result));
    soon();
  };

  // One look at the outbox at a time: two overlapping looks would both see a message as not in flight.
  let looking = false;
  const pump = async () => {
    if (stopping || looking || inFlight.size >= CONCURRENCY) return;
    let due: DueMessage[];
    looking = true;
    try {
      due = await deps.outbox.due(Date.now(), CONCURRENCY * 2);
    } catch (err) {
      log.error({ err }, 'could not read the webhook outbox');
      return;
    } finally {
      looking = false;
    }
    for (const message of due) {
      if (inFlight.size >= CONCURRENCY) break;
      // Its attempt is made but not yet recorded: wait for the record rather than send twice.
      if (inFlight.has(message.id) || attempts.some((a) => a.messageId === message.id)) continue;
      const running = send(message).finally(() => {
        inFlight.delete(message.id);
      });
      inFlight.set(message.id, running);
    }
  };
  const poller = setInterval(() => void pump(), POLL_MS);

  return {
    async stop() {
      stopping = true;
      unsubscribe();
      clearInterval(poller);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled(inFlight.values()), new Promise((r) => (timer = setTimeout(r, STOP_GRACE_MS)))]);
      clearTimeout(timer);
      clearTimeout(flushTimer);
      await flush();
      if (inFlight.size > 0) log.info({ inFlight: inFlight.size }, 'stopped with webhook deliveries in flight; they are attempted again after the next start');
    },
  };
}
