import type { DiskState } from './disk.js';

/** Counters and state of the ingest stage since start. */
export interface IngestStats {
  readings: number;
  rejections: number;
  /** Rejections beyond the per-message and per-device bounds: counted, not stored. */
  rejectionsNotStored: number;
  duplicates: number;
  stored: number;
  /** Acknowledged readings the store refused, now rejections. */
  refused: number;
  queue: { depthBytes: number; maxBytes: number; full: boolean; oldestAgeMs: number | null; failed: string | null };
  /** Free space of the data folder. */
  disk: DiskState;
  store: { kind: string; reachable: boolean; consecutiveFailures: number; lastError: string | null };
}

/**
 * How the pipeline is doing, by the one rule that decides it: `failing` when
 * it cannot acknowledge readings (the queue on disk failed or is full, or the
 * data folder is short of free space),
 * `degraded` when it acknowledges them but the store is not taking them (they
 * wait in the queue), `ok` otherwise.
 */
export type HealthStatus = 'ok' | 'degraded' | 'failing';

/** The ingest stage's part of `GET /v1/health`. */
export interface IngestHealth {
  readonly status: HealthStatus;
  readonly ingest: Pick<IngestStats, 'readings' | 'rejections' | 'rejectionsNotStored' | 'duplicates' | 'stored' | 'refused'>;
  readonly queue: IngestStats['queue'];
  readonly store: IngestStats['store'];
  readonly disk: IngestStats['disk'];
}

export function healthStatus(stats: Pick<IngestStats, 'queue' | 'store'> & { disk?: DiskState }): HealthStatus {
  if (stats.queue.failed !== null || stats.queue.full || stats.disk?.low) return 'failing';
  return stats.store.reachable ? 'ok' : 'degraded';
}

export function healthOf(stats: IngestStats): IngestHealth {
  const { queue, store, disk, ...counts } = stats;
  return { status: healthStatus(stats), ingest: counts, queue, store, disk };
}
