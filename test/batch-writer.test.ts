import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../core/log.js';
import { EmbeddedStore } from '../core/store/embedded/store.js';
import { StoreWriteError, type Reading } from '../core/store/types.js';
import { BatchWriter } from '../ingest/batch-writer.js';
import { eventually } from './helpers/wait.js';
import { tempDir } from './helpers/tmp.js';

const log = createLogger('silent');
const ALL = { kind: 'all' } as const;
const reading = (deviceId: string, time: number): Reading => ({
  deviceId, time, pilotId: 'pi', companyId: 'co', testbedId: 'turku', profile: 'noise', values: { laeq: time % 100 },
});

/**
 * The real embedded store with faults injected on demand: a real store cannot
 * be made to fail a chosen write, so this wrapper throws before delegating.
 */
function faultInjectingStore(store: EmbeddedStore) {
  const state = { failNext: 0, retryable: true, retryAfterMs: undefined as number | undefined, batches: [] as number[] };
  return {
    state,
    async write(batch: Reading[]) {
      if (state.failNext > 0) {
        state.failNext--;
        throw new StoreWriteError('injected fault', state.retryable, state.retryAfterMs);
      }
      state.batches.push(batch.length);
      await store.write(batch);
    },
  };
}

describe('batch writer', () => {
  const tmp = tempDir();
  let store: EmbeddedStore;
  beforeAll(async () => {
    store = await EmbeddedStore.open(tmp.dir);
  });
  afterAll(async () => {
    await store.close();
    tmp.remove();
  });

  function writer(device: string, overrides: Partial<ConstructorParameters<typeof BatchWriter<Reading>>[0]> = {}) {
    const faulty = faultInjectingStore(store);
    const failed: Reading[] = [];
    const w = new BatchWriter<Reading>({
      name: device, batchSize: 10, flushIntervalMs: 20, maxBacklog: 1000, log, minBackoffMs: 5, maxBackoffMs: 20,
      write: (batch) => faulty.write(batch),
      onFailed: (batch) => failed.push(...batch),
      ...overrides,
    });
    const stored = () => store.queryReadings(ALL, { deviceId: device, limit: 10_000 });
    return { w, faulty, failed, stored };
  }

  it('writes full batches at once and a partial one after the flush interval', async () => {
    const { w, faulty, stored } = writer('dev_batches');
    for (let t = 1; t <= 25; t++) w.push(reading('dev_batches', t));
    await eventually(async () => ((await stored()).length === 25 ? true : undefined));
    expect(faulty.state.batches).toEqual([10, 10, 5]);
    expect(w.backlog).toBe(0);
  });

  it('retries a retryable failure until the batch is stored, in order and once', async () => {
    const { w, faulty, failed, stored } = writer('dev_retry');
    faulty.state.failNext = 3;
    for (let t = 1; t <= 30; t++) w.push(reading('dev_retry', t));
    await w.flush();
    const rows = await stored();
    expect(rows.map((r) => r.time)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(failed).toEqual([]);
  });

  it('waits at least as long as the store asks (Retry-After)', async () => {
    const { w, faulty } = writer('dev_after');
    faulty.state.failNext = 1;
    faulty.state.retryAfterMs = 300;
    const started = Date.now();
    w.push(reading('dev_after', 1));
    await w.flush();
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('hands a batch the store will never take to onFailed and goes on', async () => {
    const { w, faulty, failed, stored } = writer('dev_refused');
    faulty.state.failNext = 1;
    faulty.state.retryable = false;
    for (let t = 1; t <= 15; t++) w.push(reading('dev_refused', t));
    await w.flush();
    expect(failed.map((r) => r.time)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect((await stored()).map((r) => r.time)).toEqual([11, 12, 13, 14, 15]);
  });

  it('pushes back when the backlog is full and lets callers go on once it drains', async () => {
    const { w, faulty } = writer('dev_full', { maxBacklog: 20 });
    faulty.state.failNext = 2;
    const accepted = Array.from({ length: 20 }, (_, t) => w.push(reading('dev_full', t + 1)));
    expect(accepted.slice(0, 19).every(Boolean)).toBe(true);
    expect(accepted[19]).toBe(false);
    let released = false;
    w.whenRoom(() => {
      released = true;
    });
    expect(released).toBe(false);
    await w.flush();
    expect(released).toBe(true);
  });

  it('gives up at the close deadline and says how much is left', async () => {
    const { w, faulty } = writer('dev_close');
    faulty.state.failNext = 1_000_000;
    for (let t = 1; t <= 5; t++) w.push(reading('dev_close', t));
    expect(await w.close(100)).toBe(5);
  });
});
