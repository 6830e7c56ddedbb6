import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../core/log.js';
import type { Reading, Rejection } from '../store/types.js';
import { Journal } from '../ingest/journal.js';
import { DurableQueue } from '../ingest/queue.js';
import { tempDir } from './helpers/tmp.js';

const log = createLogger('silent');
const reading = (time: number, deviceId = 'dev_q'): Reading => ({
  deviceId,
  time,
  pilotId: 'pi',
  companyId: 'co',
  testbedId: 'oulu',
  profile: 'noise',
  values: { laeq: 40 + (time % 50) },
});
const rejection = (time: number): Rejection => ({
  deviceId: 'dev_q',
  pilotId: 'pi',
  companyId: 'co',
  testbedId: 'oulu',
  time,
  code: 'TESTBED_READING_NOT_JSON',
  reason: 'x',
  payload: 'x',
  payloadEncoding: 'utf8',
  payloadBytes: 1,
});
const options = { maxBytes: 1024 * 1024, segmentBytes: 4096, memoryBytes: 2048 };

describe('durable queue', () => {
  const dirs: { dir: string; remove(): void }[] = [];
  const fresh = () => {
    const t = tempDir('queue-');
    dirs.push(t);
    return t.dir;
  };
  afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

  it('waits for a full batch while readings keep coming, and no longer once they pause', async () => {
    const queue = await DurableQueue.open(fresh(), { ...options, memoryBytes: 1024 * 1024 }, log);
    // A steady stream, one record every 2 ms for about 150 ms: the batch waits for it.
    let t = 0;
    const stream = setInterval(() => queue.enqueue(++t, { readings: [reading(t)], rejections: [] }, undefined, () => undefined), 2);
    const taking = queue.take(1000, 5000);
    await new Promise((resolve) => setTimeout(resolve, 150));
    clearInterval(stream);
    const started = performance.now();
    const batch = await taking;
    // Given a few turns more than the pause for the last appends to reach the disk, and far less than the 5 s linger.
    expect(performance.now() - started).toBeLessThan(1000);
    expect(batch.length).toBe(t);
    expect(batch.length).toBeGreaterThan(20);
    await queue.commit(batch[batch.length - 1]!.end);

    // One record, then nothing: taken once the pause has passed, not after the linger.
    queue.enqueue(++t, { readings: [reading(t)], rejections: [] }, undefined, () => undefined);
    const alone = performance.now();
    expect((await queue.take(1000, 5000)).map((r) => r.readings[0]!.time)).toEqual([t]);
    expect(performance.now() - alone).toBeLessThan(1000);
    await queue.close();
  });

  it('ages the backlog from the oldest batch handed out and not committed, with two batches out at once', async () => {
    const queue = await DurableQueue.open(fresh(), options, log);
    for (const at of [1000, 2000, 3000]) queue.enqueue(at, { readings: [reading(at)], rejections: [] }, undefined, () => undefined);
    await queue.flush();
    const first = await queue.take(1, 0);
    const second = await queue.take(1, 0);
    expect(second[0]!.readings[0]!.time).toBe(2000);
    expect(queue.oldestAgeMs(10_000)).toBe(9000);
    await queue.commit(first[0]!.end);
    // The second batch is out, not delivered: the backlog is as old as it, not as the record after it.
    expect(queue.oldestAgeMs(10_000)).toBe(8000);
    await queue.commit(second[0]!.end);
    expect(queue.oldestAgeMs(10_000)).toBe(7000);
    await queue.close();
  });

  it('delivers records oldest first, from memory and from disk alike', async () => {
    const dir = fresh();
    const queue = await DurableQueue.open(dir, options, log);
    const durable: number[] = [];
    for (let t = 1; t <= 100; t++)
      queue.enqueue(t, { readings: [reading(t)], rejections: t % 10 === 0 ? [rejection(t)] : [] }, undefined, () => durable.push(t));
    await queue.flush();
    expect(durable).toHaveLength(100);
    const seen: number[] = [];
    let rejections = 0;
    while (seen.length < 100) {
      const records = await queue.take(7, 0);
      for (const r of records) {
        seen.push(...r.readings.map((x) => x.time));
        rejections += r.rejections.length;
      }
      await queue.commit(records[records.length - 1]!.end);
    }
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(rejections).toBe(10);
    expect(queue.depthBytes).toBe(0);
    await queue.close();
  });

  it('delivers a record of rejections only', async () => {
    const queue = await DurableQueue.open(fresh(), options, log);
    queue.enqueue(1, { readings: [], rejections: [rejection(1)] }, undefined);
    const records = await queue.take(10, 20);
    expect(records.map((r) => r.rejections.length)).toEqual([1]);
    await queue.close();
  });

  it('resumes after a restart from the last commit, and keeps what was not committed', async () => {
    const dir = fresh();
    const first = await DurableQueue.open(dir, options, log);
    for (let t = 1; t <= 30; t++) first.enqueue(t, { readings: [reading(t)], rejections: [] }, undefined);
    await first.flush();
    const taken = await first.take(10, 0);
    await first.commit(taken[taken.length - 1]!.end);
    await first.take(10, 0); // taken but never committed: delivered again after the restart
    await first.close();

    const second = await DurableQueue.open(dir, options, log);
    const times: number[] = [];
    while (second.depthBytes > 0) {
      const records = await second.take(100, 0);
      times.push(...records.flatMap((r) => r.readings.map((x) => x.time)));
      await second.commit(records[records.length - 1]!.end);
    }
    expect(times).toEqual(Array.from({ length: 20 }, (_, i) => i + 11));
    await second.close();
  });

  it('cuts off a torn record at the end of the journal', async () => {
    const dir = fresh();
    const { journal } = await Journal.open(dir, { segmentBytes: 1 << 20 });
    journal.append(Buffer.from('{"a":1,"r":[],"j":[]}'));
    journal.append(Buffer.from('{"a":2,"r":[],"j":[]}'));
    await journal.close();
    const file = path.join(
      dir,
      fs.readdirSync(dir).find((f) => f.endsWith('.seg'))!,
    );
    const whole = fs.statSync(file).size;
    fs.truncateSync(file, whole - 3);
    const { journal: again, truncatedBytes } = await Journal.open(dir, { segmentBytes: 1 << 20 });
    expect(truncatedBytes).toBe(whole / 2 - 3);
    expect((await again.read(0, 1 << 20)).map((r) => r.body.toString())).toEqual(['{"a":1,"r":[],"j":[]}']);
    await again.close();
  });

  it('is full at its byte limit and has room again once records are committed', async () => {
    const queue = await DurableQueue.open(fresh(), { ...options, maxBytes: 2000 }, log);
    let t = 0;
    while (!queue.full) queue.enqueue(++t, { readings: [reading(t)], rejections: [] }, undefined);
    let room = false;
    queue.whenRoom(() => {
      room = true;
    });
    expect(room).toBe(false);
    await queue.flush();
    const records = await queue.take(1000, 0);
    await queue.commit(records[records.length - 1]!.end);
    expect(room).toBe(true);
    await queue.close();
  });

  it('deletes delivered segments but keeps the newest for duplicate detection', async () => {
    const dir = fresh();
    const queue = await DurableQueue.open(dir, { ...options, segmentBytes: 1000 }, log);
    for (let t = 1; t <= 200; t++) {
      queue.enqueue(t, { readings: [reading(t)], rejections: [] }, ['dev_q', t, t]);
      if (t % 20 === 0) await queue.flush();
    }
    await queue.flush();
    while (queue.depthBytes > 0) {
      const records = await queue.take(1000, 0);
      await queue.commit(records[records.length - 1]!.end);
    }
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.seg')).length).toBeLessThanOrEqual(3);
    const keys: number[] = [];
    await queue.recentKeys(([, id]) => keys.push(id));
    expect(keys.length).toBeGreaterThan(0);
    expect(keys[keys.length - 1]).toBe(200);
    await queue.close();
  });

  it('releases every delivered segment at once for an erasure, only after delivering what is still queued, and keeps appending', async () => {
    const dir = fresh();
    const queue = await DurableQueue.open(dir, { ...options, segmentBytes: 1000 }, log);
    for (let t = 1; t <= 60; t++) queue.enqueue(t, { readings: [reading(t, t <= 40 ? 'dev_gone' : 'dev_other')], rejections: [] }, ['dev_q', t, t]);
    await queue.flush();
    // Only the erased device's records are delivered; the other device's wait in the queue.
    let delivered = 0;
    while (delivered < 40) {
      const records = await queue.take(40 - delivered, 0);
      delivered += records.length;
      await queue.commit(records[records.length - 1]!.end);
    }
    expect(await queue.segmentsHolding('dev_gone')).toBeGreaterThan(0);
    let released = false;
    const releasing = queue.releaseDelivered().then(() => (released = true));
    // Appended while the release waits: it goes to the new segment, which the release keeps.
    queue.enqueue(61, { readings: [reading(61, 'dev_other')], rejections: [] }, undefined);
    await queue.flush();
    await new Promise((r) => setTimeout(r, 50));
    expect(released).toBe(false);
    const rest: number[] = [];
    while (rest.length < 21) {
      const records = await queue.take(1000, 0);
      rest.push(...records.flatMap((r) => r.readings.map((x) => x.time)));
      await queue.commit(records[records.length - 1]!.end);
    }
    expect(rest).toEqual(Array.from({ length: 21 }, (_, i) => 41 + i));
    await releasing;
    expect(await queue.segmentsHolding('dev_gone')).toBe(0);
    expect(await queue.segmentsHolding('dev_other')).toBe(1);
    const raw = fs.readdirSync(dir).filter((f) => f.endsWith('.seg'));
    expect(raw.filter((f) => fs.readFileSync(path.join(dir, f)).includes('dev_gone'))).toEqual([]);
    queue.enqueue(62, { readings: [reading(62, 'dev_other')], rejections: [] }, undefined);
    await queue.flush();
    expect((await queue.take(10, 0)).map((r) => r.readings[0]!.time)).toEqual([62]);
    await queue.close();
  });
});
