import { describe, expect, it } from 'vitest';
import type { DeviceContext } from '../core/model.js';
import type { PayloadFormat } from '../device-profiles/format.js';
import { loadProfiles } from '../device-profiles/load.js';
import { createPipeline } from '../ingest/pipeline.js';
import { DeviceDriver, type Connection } from '../simulators/driver.js';
import { createEncoder } from '../simulators/encode.js';
import { DEFAULT_WINDOW, FAULT_KINDS, expectedCode, faultsSchema, type Faults } from '../simulators/faults.js';
import { createRandom } from '../simulators/random.js';
import { createReadingGenerator } from '../simulators/signals.js';

/**
 * Faults, checked against the real ingest pipeline: every payload a faulty
 * device publishes goes through `process` at the moment it is sent, and the
 * rejections must be exactly those the faults should get. The connection only
 * records (no broker is needed to decide what a payload becomes; the MQTT
 * path is run end to end in simulators-e2e.test.ts).
 */
const profiles = loadProfiles();
const pipeline = createPipeline(profiles, { maxPayloadBytes: 16_384, maxFutureMs: 600_000, maxAgeMs: 365 * 86_400_000 });
const START = Date.parse('2026-03-02T06:00:00Z');
const STEP = 60_000;

function recordingConnection(clock: { now: number }) {
  const sent: { at: number; payload: Buffer }[] = [];
  let online = true;
  const connection: Connection = {
    publishPayload(payload) {
      if (!online) throw new Error('published while offline');
      sent.push({ at: clock.now, payload: Buffer.from(payload) });
      return true;
    },
    async goOffline() {
      online = false;
    },
    async goOnline() {
      online = true;
    },
  };
  return { connection, sent, online: () => online };
}

async function runDevice(profileId: string, format: PayloadFormat, faults: Faults, seed: number, ticks = 200) {
  const { profile } = profiles.get(profileId)!;
  const clock = { now: START };
  const recorder = recordingConnection(clock);
  const driver = new DeviceDriver({
    connection: recorder.connection,
    profile,
    format,
    generator: createReadingGenerator(profile, seed),
    encoder: createEncoder(profile, format, { baseName: 'dev:' }),
    backlogEncoder: createEncoder(profile, profile.formats.includes('senml') ? 'senml' : 'json'),
    faults,
    random: createRandom(seed),
    includeTime: true,
    window: DEFAULT_WINDOW,
  });
  for (let i = 0; i < ticks; i++) {
    clock.now = START + i * STEP;
    await driver.tick(clock.now);
  }
  await driver.finish();
  expect(recorder.online()).toBe(true);
  const ctx: DeviceContext = {
    deviceId: `d-${profileId}-${format}-${seed}`,
    pilotId: 'p',
    companyId: 'c',
    testbedId: 'oulu',
    profile: profileId,
    pilotStartsAt: null,
    pilotEndsAt: null,
  };
  const rejected: Record<string, number> = {};
  let readings = 0;
  for (const { at, payload } of recorder.sent) {
    const outcome = pipeline.process(ctx, payload, at);
    readings += outcome.readings.length;
    for (const r of outcome.rejections) rejected[r.code] = (rejected[r.code] ?? 0) + 1;
  }
  return { stats: driver.stats(), rejected, readings, sent: recorder.sent };
}

const EVERY_FAULT = faultsSchema.parse({
  malformed: 0.08,
  outOfRange: 0.08,
  clockSkew: 0.08,
  duplicate: 0.06,
  stuck: 0.05,
  gap: 0.04,
  disconnect: 0.04,
  backlog: 0.05,
});

describe('fault injection', () => {
  for (const [id, { profile }] of profiles) {
    for (const format of profile.formats) {
      it(`gets exactly the rejections its faults should, for ${id} in ${format}`, async () => {
        const { stats, rejected, readings } = await runDevice(id, format, EVERY_FAULT, 11);
        expect(rejected).toEqual(stats.expected);
        expect(Object.values(stats.expected).reduce((a, b) => a + b, 0)).toBeGreaterThan(10);
        expect(readings).toBeGreaterThan(100);
        // Faults that apply to every format were all drawn.
        for (const kind of ['malformed', 'duplicate', 'stuck', 'gap', 'disconnect'] as const) expect(stats.faults[kind], kind).toBeGreaterThan(0);
        if (format !== 'binary') expect(stats.faults.clockSkew).toBeGreaterThan(0);
        expect(stats.missed).toBeGreaterThan(0);
      });
    }
  }

  it('sends nothing the gateway rejects without faults, and a backlog arrives as one SenML pack with its own times', async () => {
    const clean = await runDevice('gps-tracker', 'json', faultsSchema.parse({}), 3, 50);
    expect(clean.rejected).toEqual({});
    expect(clean.readings).toBe(50);
    const backlog = await runDevice('gps-tracker', 'binary', faultsSchema.parse({ backlog: 1, backlogReadings: 4 }), 3, 8);
    expect(backlog.rejected).toEqual({});
    expect(backlog.readings).toBe(8);
    expect(backlog.sent).toHaveLength(2);
    const pack = JSON.parse(backlog.sent[0]!.payload.toString()) as { bt?: number; t?: number }[];
    expect(pack[0]!.bt).toBe(START / 1000);
    expect(Math.max(...pack.map((r) => r.t ?? 0))).toBe(180);
    expect(backlog.sent[0]!.at).toBe(START + 3 * STEP);
  });

  it('is deterministic for a seed', async () => {
    const a = await runDevice('indoor-air', 'senml', EVERY_FAULT, 5, 60);
    const b = await runDevice('indoor-air', 'senml', EVERY_FAULT, 5, 60);
    expect(b.sent.map((s) => s.payload.toString('hex'))).toEqual(a.sent.map((s) => s.payload.toString('hex')));
    expect(b.stats).toEqual(a.stats);
  });

  it('maps each fault to the code the gateway answers, where it answers one', () => {
    const f = faultsSchema.parse({});
    expect(FAULT_KINDS.map((k) => [k, expectedCode(k, 'json', f, DEFAULT_WINDOW) ?? null])).toEqual([
      ['malformed', 'TESTBED_READING_NOT_JSON'],
      ['outOfRange', 'TESTBED_READING_OUT_OF_RANGE'],
      ['clockSkew', 'TESTBED_READING_TIME_IN_FUTURE'],
      ['duplicate', null],
      ['stuck', null],
      ['gap', null],
      ['disconnect', null],
      ['backlog', null],
    ]);
    expect(expectedCode('malformed', 'binary', f, DEFAULT_WINDOW)).toBe('TESTBED_READING_BAD_BINARY');
    expect(expectedCode('clockSkew', 'json', faultsSchema.parse({ skewSeconds: -400 * 86_400 }), DEFAULT_WINDOW)).toBe('TESTBED_READING_TIME_TOO_OLD');
    expect(expectedCode('clockSkew', 'json', faultsSchema.parse({ skewSeconds: 120 }), DEFAULT_WINDOW)).toBeUndefined();
    expect(faultsSchema.safeParse({ malformed: 0.6, gap: 0.6 }).error?.issues[0]?.message).toBe('the fault rates add up to more than 1');
  });
});
