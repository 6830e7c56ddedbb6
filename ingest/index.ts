import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import type { DeviceContext } from '../core/model.js';
import type { Reading, ReadingStore, Rejection, RejectionLog } from '../core/store/types.js';
import type { ProfileCatalogue } from '../device-profiles/load.js';
import { BatchWriter } from './batch-writer.js';
import { createPipeline, rejectionOf, type MessageOutcome } from './pipeline.js';

export interface IngestDeps {
  readonly profiles: ProfileCatalogue;
  readonly store: ReadingStore;
  readonly rejections: RejectionLog;
  readonly log: Logger;
}

export interface IngestStats {
  readings: number;
  rejections: number;
  stored: number;
  backlog: number;
  storeFailures: number;
}

export interface Ingest {
  /**
   * Runs one message through the pipeline and queues the outcome for writing.
   * `done` is called once the message may be acknowledged to the device: at
   * once, or when the write backlog has room again (backpressure).
   */
  accept(ctx: DeviceContext, payload: Buffer, done: (error?: Error | null) => void): MessageOutcome;
  /** A device disconnected: drop per-device state. */
  forget(deviceId: string): void;
  stats(): IngestStats;
  /** Writes what is queued, for at most `deadlineMs`, then closes. */
  stop(deadlineMs?: number): Promise<void>;
}

/** Starts the ingest stage: decode -> resolve profile -> validate -> normalise -> batched write. */
export async function start(config: Config, deps: IngestDeps): Promise<Ingest> {
  const log = deps.log.child({ stage: 'ingest' });
  const pipeline = createPipeline(deps.profiles, config.ingest);
  const counts = { readings: 0, rejections: 0, stored: 0 };

  const rejectionWriter: BatchWriter<Rejection> = new BatchWriter<Rejection>({
    name: 'rejections',
    batchSize: config.ingest.batchSize,
    flushIntervalMs: config.ingest.flushIntervalMs,
    maxBacklog: 100_000,
    log,
    write: (batch) => deps.rejections.writeRejections(batch),
    onFailed: (batch, error) => log.error({ err: error, lost: batch.length }, 'rejection records could not be written'),
  });

  const readingWriter = new BatchWriter<Reading>({
    name: 'readings',
    batchSize: config.ingest.batchSize,
    flushIntervalMs: config.ingest.flushIntervalMs,
    maxBacklog: Math.max(config.ingest.batchSize * 100, 100_000),
    log,
    async write(batch) {
      const { refused } = await deps.store.write(batch);
      counts.stored += batch.length - refused.length;
      // A reading the store refuses becomes a rejection with the store's reason.
      for (const r of refused) {
        const reading = batch[r.index];
        if (reading) rejectionWriter.push(storeRefusal(reading, r.reason));
      }
    },
    onFailed(batch, error) {
      for (const reading of batch) rejectionWriter.push(storeRefusal(reading, error.message));
    },
  });

  return {
    accept(ctx, payload, done) {
      const outcome = pipeline.process(ctx, payload, Date.now());
      counts.readings += outcome.readings.length;
      counts.rejections += outcome.rejections.length;
      for (const rejection of outcome.rejections) rejectionWriter.push(rejection);
      let room = true;
      for (const reading of outcome.readings) room = readingWriter.push(reading);
      if (room) done();
      else readingWriter.whenRoom(() => done());
      return outcome;
    },
    forget: (deviceId) => pipeline.forget(deviceId),
    stats: () => ({ ...counts, backlog: readingWriter.backlog, storeFailures: readingWriter.failures }),
    async stop(deadlineMs = 10_000) {
      const left = await readingWriter.close(deadlineMs);
      const leftRejections = await rejectionWriter.close(Math.max(1000, deadlineMs / 4));
      if (left + leftRejections > 0) log.error({ readings: left, rejections: leftRejections }, 'stopped with unwritten items');
    },
  };
}

function storeRefusal(reading: Reading, reason: string): Rejection {
  const payload = Buffer.from(JSON.stringify({ ...reading.values, time: reading.time }));
  return rejectionOf(reading, payload, reading.time, 'TESTBED_READING_STORE_REFUSED', reason);
}
