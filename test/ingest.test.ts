import { describe, expect, it } from 'vitest';
import { isErrorCode } from '../core/errors.js';
import type { DeviceContext } from '../core/model.js';
import { vectorPayload } from '../device-profiles/format-vectors.js';
import { loadProfiles } from '../device-profiles/load.js';
import { ReceiptClock } from '../ingest/normalise.js';
import { createPipeline, REJECTION_PAYLOAD_CAP } from '../ingest/pipeline.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const ctx: DeviceContext = {
  deviceId: 'dev_x',
  pilotId: 'pi_x',
  companyId: 'co_x',
  testbedId: 'oulu',
  profile: 'weather',
  pilotStartsAt: null,
  pilotEndsAt: null,
};
const pipeline = createPipeline(loadProfiles(), { maxPayloadBytes: 1024, maxFutureMs: 60_000, maxAgeMs: 7 * 86_400_000 });
const run = (payload: unknown, context = ctx, at = NOW) =>
  pipeline.process(context, Buffer.isBuffer(payload) ? payload : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), at);
const codeOf = (payload: unknown, context = ctx) => run(payload, context).rejections[0]?.code ?? 'stored';
const rejectionOf = (payload: unknown) => run(payload).rejections[0];

describe('ingest pipeline', () => {
  it('normalises a valid reading with its tags', () => {
    const outcome = run({ temperature: 21.5, time: '2026-06-01T11:59:00+03:00' });
    expect(outcome).toEqual({
      rejections: [],
      readings: [
        {
          deviceId: 'dev_x',
          pilotId: 'pi_x',
          companyId: 'co_x',
          testbedId: 'oulu',
          profile: 'weather',
          time: Date.parse('2026-06-01T08:59:00Z'),
          values: { temperature: 21.5 },
        },
      ],
    });
  });

  it("carries the device's name from its connection onto each reading, for the InfluxDB name tag", () => {
    expect(run({ temperature: 1 }, { ...ctx, name: 'Lamp post 7' }).readings[0]?.deviceName).toBe('Lamp post 7');
    expect(run({ temperature: 1 }, { ...ctx, name: null }).readings[0]).not.toHaveProperty('deviceName');
  });

  it('accepts times inside the window and rejects those outside, saying which way', () => {
    expect(codeOf({ temperature: 1, time: NOW + 59_000 })).toBe('stored');
    expect(codeOf({ temperature: 1, time: NOW + 61_000 })).toBe('TESTBED_READING_TIME_IN_FUTURE');
    expect(codeOf({ temperature: 1, time: NOW - 6 * 86_400_000 })).toBe('stored');
    expect(codeOf({ temperature: 1, time: NOW - 8 * 86_400_000 })).toBe('TESTBED_READING_TIME_TOO_OLD');
    expect(codeOf({ temperature: 1, time: -5 })).toBe('TESTBED_READING_BAD_TIME');
    expect(codeOf({ temperature: 1, time: 'yesterday' })).toBe('TESTBED_READING_BAD_TIME');
    expect(codeOf({ temperature: 1, time: '2026-02-30T00:00:00Z' })).toBe('TESTBED_READING_BAD_TIME');
  });

  it('hints at epoch seconds sent instead of milliseconds', () => {
    expect(rejectionOf({ temperature: 1, time: Math.floor(NOW / 1000) })?.reason).toContain('epoch seconds');
  });

  it('rejects payloads over the size limit before decoding them', () => {
    expect(codeOf({ temperature: 1, pad: 'x'.repeat(2000) })).toBe('TESTBED_READING_TOO_LARGE');
  });

  it('keeps a capped copy of the payload, as base64 when it is not UTF-8', () => {
    const big = createPipeline(loadProfiles(), { maxPayloadBytes: 100_000, maxFutureMs: 1, maxAgeMs: 1 });
    const text = big.process(ctx, Buffer.from('x'.repeat(10_000)), NOW);
    expect(text.rejections[0]).toMatchObject({
      code: 'TESTBED_READING_NOT_JSON',
      payloadEncoding: 'utf8',
      payloadBytes: 10_000,
      payload: 'x'.repeat(REJECTION_PAYLOAD_CAP),
    });
    expect(rejectionOf(Buffer.from([0xff, 0x00, 0xfe]))).toMatchObject({ payloadEncoding: 'base64', payload: '/wD+', payloadBytes: 3 });
  });

  it('reports every problem of a payload, coded by the most telling one', () => {
    const rejection = rejectionOf({ temperature: 99, humidity: 'wet', colour: 'blue' });
    expect(rejection?.code).toBe('TESTBED_READING_UNKNOWN_MEASUREMENT');
    expect(rejection?.reason).toContain('"colour"');
    expect(rejection?.reason).toContain('temperature must be at most 60');
    expect(rejection?.reason).toContain('humidity must be a number');
  });

  it('rejects a device whose profile is not loaded', () => {
    expect(codeOf({ temperature: 1 }, { ...ctx, profile: 'gone' })).toBe('TESTBED_READING_UNKNOWN_PROFILE');
  });

  it('leaves the quality flag out of a reading whose values are all plausible', () => {
    expect(run({ temperature: 1 }).readings[0]).not.toHaveProperty('suspect');
    expect(run({ temperature: 1, pressure: 900 }).readings[0]).toHaveProperty('suspect', ['pressure']);
  });

  it('turns any bytes into an outcome with catalogue codes, never a throw', () => {
    // Mutated test vectors and random bytes through every profile: a fuzz with a fixed seed.
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const profiles = loadProfiles();
    const lenient = createPipeline(profiles, { maxPayloadBytes: 4096, maxFutureMs: 60_000, maxAgeMs: 7 * 86_400_000 });
    let outcomes = 0;
    for (const [id, compiled] of profiles) {
      const device = { ...ctx, profile: id };
      const seeds = compiled.profile.tests.map(vectorPayload);
      for (let i = 0; i < 300; i++) {
        const base = Buffer.from(seeds[i % seeds.length]!);
        const payload = i % 3 === 0 ? Buffer.from(Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 256))) : base;
        for (let k = 0; k < 1 + Math.floor(random() * 3) && payload.length > 0; k++)
          payload[Math.floor(random() * payload.length)] = Math.floor(random() * 256);
        const outcome = lenient.process(device, payload, NOW);
        for (const r of outcome.rejections) expect(isErrorCode(r.code) && r.code !== 'TESTBED_INTERNAL', `${r.code}: ${r.reason}`).toBe(true);
        for (const r of outcome.readings) expect(Number.isFinite(r.time) && Object.values(r.values).every(Number.isFinite)).toBe(true);
        outcomes += outcome.readings.length + outcome.rejections.length;
      }
    }
    expect(outcomes).toBeGreaterThan(profiles.size * 300);
  });
});

describe('receipt clock', () => {
  it('gives readings of one device in one millisecond consecutive times', () => {
    const clock = new ReceiptClock();
    expect([clock.stamp('a', 10), clock.stamp('a', 10), clock.stamp('a', 10), clock.stamp('a', 12)]).toEqual([10, 11, 12, 13]);
    expect(clock.stamp('b', 10)).toBe(10);
    clock.forget('a');
    expect(clock.stamp('a', 10)).toBe(10);
  });
});
