import type { Scope } from '../../core/index.js';
import type { ReadingRow, ReadingStore } from '../../store/index.js';

const ALL: Scope = { kind: 'all' };
const FAR_FUTURE = Date.UTC(2100, 0, 1);

/**
 * One device's readings, oldest first, through the raw query the API uses,
 * as rows without the device id: what a test that wrote them expects back.
 */
export async function readDevice(
  store: ReadingStore,
  deviceId: string,
  q: { from?: number; to?: number; limit?: number } = {},
  scope: Scope = ALL,
): Promise<ReadingRow[]> {
  const select = { kind: 'device', deviceId } as const;
  const rows = await store.queryRaw(scope, { select, from: q.from ?? 0, to: q.to ?? FAR_FUTURE, limit: q.limit ?? 1000, deadline: Date.now() + 30_000 });
  return rows.map(({ deviceId: _, ...row }) => row);
}
