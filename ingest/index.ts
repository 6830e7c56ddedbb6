import path from 'node:path';
import type { Config, Logger, DeviceContext } from '../core/index.js';
import type { Reading, ReadingStore, Rejection, RejectionLog } from '../store/index.js';
import type { ProfileCatalogue } from '../device-profiles/index.js';
import { DiskWatch } from './disk.js';
import { healthOf, type IngestHealth, type IngestStats } from './health.js';
import { appended, DuplicateFilter, payloadHash, whenAppended, type Original } from './dedupe.js';
import { Drainer } from './drain.js';
import { LiveFeed } from './live.js';
import { createPipeline, type MessageOutcome } from './pipeline.js';
import { capRejections, RejectionBudget } from './rejection-cap.js';
import { DurableQueue, type MessageKey } from './queue.js';
import { resentElsewhere, sharingAcknowledgement, type ResendMemory } from './resends.js';

export { LiveFeed, type LiveFilter, type LiveSubscription } from './live.js';
export { healthStatus, type HealthStatus, type IngestHealth, type IngestStats } from './health.js';
export type { DiskState } from './disk.js';
export type { ResendMemory } from './resends.js';

export interface IngestDeps {
  readonly profiles: ProfileCatalogue;
  readonly store: ReadingStore;
  readonly rejections: RejectionLog;
  readonly log: Logger;
  /** The time of a device's newest stored reading (from its kept health), so a silence spanning a restart is still flagged `gap`. */
  readonly lastReadingAt?: ((deviceId: string) => number | undefined) | undefined;
  /** Acknowledged messages remembered across gateway nodes (cluster/), for a resend to another node. */
  readonly resends?: ResendMemory | undefined;
}

type Done = (error?: Error | null) => void;

/** Told of readings the store refused after they were acknowledged, once recorded as rejections. */
export type RefusalListener = (rejections: readonly Rejection[]) => void;

/** Told of each delivered batch: its stored readings and recorded rejections. Called on the delivery path: keep it cheap. */
export type DeliveryListener = (readings: readonly Reading[], rejections: readonly Rejection[]) => void;

/** One PUBLISH as the gateway hands it over. */
export interface InboundMessage {
  readonly payload: Buffer;
  readonly qos: number;
  readonly messageId: number | undefined;
  /** The DUP flag: the device may have sent this message before [MQTT-3.3.1-1]. */
  readonly dup: boolean;
  /** Identifies the connection it came on (unique for the life of the process, never 0). */
  readonly connection: number;
}

export interface Ingest {
  /**
   * Runs one message through the pipeline and queues its outcome on disk.
   * `done` is called once the message may be acknowledged: for QoS 1 and 2,
   * when the outcome is on disk; for QoS 0, at once. While the queue is full,
   * `done` waits for room, so the gateway stops reading from the device.
   */
  accept(ctx: DeviceContext, message: InboundMessage, done: (error?: Error | null) => void): MessageOutcome;
  /**
   * Why messages are refused now (the data folder is short of space, or the
   * queue on disk failed), or undefined while they are accepted. The gateway
   * refuses CONNECTs meanwhile.
   */
  refusing(): string | undefined;
  /** A device disconnected: drop per-connection state. */
  forget(deviceId: string): void;
  /**
   * A pilot is being erased: forgets everything kept in memory about its
   * devices (quality history, duplicate detection, rejection budget), then
   * deletes from disk every queue segment written so far once delivered, so
   * none of their readings stays in the queue's files. It waits for delivery
   * of whatever is queued; nothing undelivered is dropped.
   */
  eraseDevices(deviceIds: readonly string[]): Promise<void>;
  /** How many of the queue's segment files hold `text` (raw bytes), for erasure's check. */
  queueFilesHolding(text: string): Promise<number>;
  stats(): IngestStats;
  /** The stage's health: its counters with the status they add up to. */
  health(): IngestHealth;
  /** Readings as they are stored, for live subscribers (the API's live streams). */
  readonly live: LiveFeed;
  /** Adds a listener for refusals after acknowledgement (the gateway tells the device). */
  onRefused(listener: RefusalListener): void;
  /** Adds a listener for each batch once delivered: the readings stored and every rejection recorded (device health). */
  onDelivered(listener: DeliveryListener): void;
  /** Delivers what it can within the configured shutdown time, then closes. */
  stop(): Promise<void>;
}

/** How often rejections past their retention are deleted. */
const PRUNE_EVERY_MS = 60 * 60 * 1000;
const NOTHING: MessageOutcome = { readings: [], rejections: [] };
const SEGMENT_BYTES = 16 * 1024 * 1024;
const MEMORY_BYTES = 64 * 1024 * 1024;

/**
 * Starts the ingest stage: pipeline (decode -> resolve profile -> validate ->
 * normalise) -> durable queue on local disk -> batched delivery to the stores.
 */
export async function start(config: Config, deps: IngestDeps): Promise<Ingest> {
  const log = deps.log.child({ stage: 'ingest' });
  const pipeline = createPipeline(deps.profiles, config.ingest, deps.lastReadingAt);
  const queue = await DurableQueue.open(
    path.join(config.dataDir, 'queue'),
    { maxBytes: config.ingest.queueMaxBytes, segmentBytes: SEGMENT_BYTES, memoryBytes: Math.min(MEMORY_BYTES, config.ingest.queueMaxBytes) },
    log,
  );
  const duplicates = new DuplicateFilter();
  await queue.recentKeys(([deviceId, messageId, hash], at, end) => duplicates.remember(deviceId, messageId, hash, 0, at, end));
  const sweeper = setInterval(() => duplicates.sweep(Date.now()), 60_000).unref();
  const live = new LiveFeed();
  const refusalListeners: RefusalListener[] = [];
  const deliveryListeners: DeliveryListener[] = [];
  const NO_READINGS: readonly Reading[] = [];
  const drainer = new Drainer(queue, deps.store, deps.rejections, {
    batchSize: config.ingest.batchSize,
    lingerMs: config.ingest.flushIntervalMs,
    backoff: { minMs: 100, maxMs: config.ingest.retryMaxMs },
    log,
    onStored: (readings) => {
      live.publish(readings);
      for (const listener of deliveryListeners) listener(readings, []);
    },
    onRejected: (rejections) => deliveryListeners.forEach((listener) => listener(NO_READINGS, rejections)),
    onRefused: (rejections) => refusalListeners.forEach((listener) => listener(rejections)),
  });
  drainer.start();
  const disk = new DiskWatch(config.dataDir, config.limits.disk.minFreeBytes, (low) =>
    low
      ? log.error(
          { code: 'TESTBED_DISK_LOW', ...disk.state },
          'the data folder is short of free space (TESTBED_DISK_MIN_FREE_MB): refusing readings until there is room',
        )
      : log.info({ ...disk.state }, 'the data folder has free space again: accepting readings'),
  );
  const counts = { readings: 0, rejections: 0, duplicates: 0, rejectionsNotStored: 0 };
  const budget = new RejectionBudget(config.limits.rejections.perDevicePerMinute);
  const prune = () =>
    deps.rejections
      .deleteRejectionsBefore(Date.now() - config.limits.rejections.retentionMs)
      .catch((err: unknown) => log.warn({ err }, 'could not delete old rejections'));
  void prune();
  const pruner = setInterval(() => void prune(), PRUNE_EVERY_MS).unref();
  const refusing = () => {
    if (disk.low) return `the data folder has less than ${Math.round(config.limits.disk.minFreeBytes / 1048576)} MiB free (TESTBED_DISK_MIN_FREE_MB)`;
    const failed = queue.failed;
    return failed ? `the queue on disk failed: ${failed.message}` : undefined;
  };
  let warnedFull = false;

  const stats = (): IngestStats => {
    const d = drainer.state;
    const age = queue.oldestAgeMs(Date.now());
    return {
      ...counts,
      stored: d.stored,
      refused: d.refused,
      queue: {
        depthBytes: queue.depthBytes,
        maxBytes: config.ingest.queueMaxBytes,
        full: queue.full,
        oldestAgeMs: age ?? null,
        failed: queue.failed?.message ?? null,
      },
      disk: disk.state,
      store: { kind: deps.store.kind, reachable: d.storeReachable, consecutiveFailures: d.consecutiveFailures, lastError: d.lastError ?? null },
    };
  };

  /** The outcome with its rejections bounded per message and per device; every problem is counted, stored or not. */
  function bounded(deviceId: string, outcome: MessageOutcome, at: number): MessageOutcome {
    counts.rejections += outcome.rejections.length;
    if (outcome.rejections.length === 0) return outcome;
    const capped = capRejections(outcome.rejections);
    const granted = budget.take(deviceId, capped.length, at);
    counts.rejectionsNotStored += outcome.rejections.length - granted;
    return capped === outcome.rejections && granted === capped.length ? outcome : { readings: outcome.readings, rejections: capped.slice(0, granted) };
  }

  /** Queues a message's outcome; `done` once it is on disk (acknowledged) or at once (QoS 0). */
  function append(at: number, outcome: MessageOutcome, key: MessageKey | undefined, original: Original | undefined, acknowledged: boolean, done: Done): void {
    const end = queue.enqueue(at, outcome, key, acknowledged ? done : undefined);
    if (original) appended(original, end);
    if (!acknowledged) done();
  }

  const ingest: Ingest = {
    refusing,
    accept(ctx, message, done) {
      const refused = refusing();
      if (refused) {
        // Nothing can be made durable: refuse rather than acknowledge (the device keeps it).
        done(new Error(refused));
        return NOTHING;
      }
      const acknowledged = message.qos > 0 && message.messageId !== undefined;
      let key: MessageKey | undefined;
      if (acknowledged) {
        key = [ctx.deviceId, message.messageId!, payloadHash(message.payload)];
        const original = duplicates.original(key[0], key[1], key[2], message.connection, message.dup);
        if (original) {
          counts.duplicates++;
          whenAppended(original, (end) => queue.whenDurable(end, done));
          return NOTHING;
        }
        if (deps.resends) {
          // A DUP unknown here may be one another node acknowledged: asked once, then taken as new (dup cleared).
          if (message.dup)
            return resentElsewhere(deps.resends, key, done, () => ingest.accept(ctx, { ...message, dup: false }, done), counts, refusalListeners);
          done = sharingAcknowledgement(deps.resends, key, done);
        }
      }
      const at = Date.now();
      const outcome = bounded(ctx.deviceId, pipeline.process(ctx, message.payload, at), at);
      counts.readings += outcome.readings.length;
      const original = key && duplicates.remember(key[0], key[1], key[2], message.connection, at);
      if (!queue.full) append(at, outcome, key, original, acknowledged, done);
      else {
        if (!warnedFull) log.warn({ depthBytes: queue.depthBytes }, 'the queue is full: holding acknowledgements until the store catches up');
        warnedFull = true;
        queue.whenRoom(() => {
          if (warnedFull) log.info('the queue has room again');
          warnedFull = false;
          append(at, outcome, key, original, acknowledged, done);
        });
      }
      return outcome;
    },
    forget: (deviceId) => pipeline.forget(deviceId),
    async eraseDevices(deviceIds) {
      for (const deviceId of deviceIds) {
        pipeline.erase(deviceId);
        duplicates.forgetDevice(deviceId);
        budget.forget(deviceId);
      }
      await queue.releaseDelivered();
    },
    queueFilesHolding: (text) => queue.segmentsHolding(text),
    live,
    onRefused: (listener) => void refusalListeners.push(listener),
    onDelivered: (listener) => void deliveryListeners.push(listener),
    stats,
    health: () => healthOf(stats()),
    async stop() {
      clearInterval(sweeper);
      clearInterval(pruner);
      disk.stop();
      const { left } = await drainer.stop(config.ingest.shutdownMs);
      if (left > 0) log.warn({ backlogBytes: left }, 'stopped with readings still queued on disk; they are delivered after the next start');
      else log.info('queue delivered');
    },
  };
  return ingest;
}
