/** Counters and state of the ingest stage since start. */
export interface IngestStats {
  readings: number;
  rejections: number;
  duplicates: number;
  stored: number;
  /** Acknowledged readings the store refused, now rejections. */
  refused: number;
  queue: { depthBytes: number; maxBytes: number; full: boolean; oldestAgeMs: number | null; failed: string | null };
  store: { kind: string; reachable: boolean; consecutiveFailures: number; lastError: string | null };
}

/**
 * How the pipeline is doing, by the one rule that decides it: `failing` when
 * it cannot acknowledge readings (the queue on disk failed or is full),
 * `degraded` when it acknowledges them but the store is not taking them (they
 * wait in the queue), `ok` otherwise.
 */
export type HealthStatus = 'ok' | 'degraded' | 'failing';

/** The ingest stage's part of `GET /v1/health`. */
export interface IngestHealth {
  readonly status: HealthStatus;
  readonly ingest: Pick<IngestStats, 'readings' | 'rejections' | 'duplicates' | 'stored' | 'refused'>;
  readonly queue: IngestStats['queue'];
  readonly store: IngestStats['store'];
}

export function healthStatus(stats: Pick<IngestStats, 'queue' | 'store'>): HealthStatus {
  if (stats.queue.failed !== null || stats.queue.full) return 'failing';
  return stats.store.reachable ? 'ok' : 'degraded';
}

export function healthOf(stats: IngestStats): IngestHealth {
  const { queue, store, ...counts } = stats;
  return { status: healthStatus(stats), ingest: counts, queue, store };
}
