import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TestbedError } from '../core/errors.js';
import type { DeviceContext } from '../core/model.js';
import { bundledProfilesDir, loadProfiles } from '../device-profiles/load.js';
import { createPipeline } from '../ingest/pipeline.js';
import { tempDir } from './helpers/tmp.js';

const profiles = loadProfiles();
// Vectors are judged as if received at this instant, so they never age out.
const RECEIVED_AT = Date.parse('2026-01-15T08:00:00Z');
const pipeline = createPipeline(profiles, { maxPayloadBytes: 16_384, maxFutureMs: 600_000, maxAgeMs: 365 * 86_400_000 });

const contextOf = (profile: string): DeviceContext => ({
  deviceId: `dev_${profile}`, pilotId: 'pi_1', companyId: 'co_1', testbedId: 'helsinki', profile, pilotStartsAt: null, pilotEndsAt: null,
});

describe('device profiles', () => {
  it('ships at least the air-quality, noise and weather profiles', () => {
    expect([...profiles.keys()]).toEqual(expect.arrayContaining(['air-quality', 'noise', 'weather']));
  });

  for (const [id, compiled] of profiles) {
    describe(`${id} test vectors`, () => {
      it('has vectors that accept and vectors that reject', () => {
        expect(compiled.profile.tests.some((t) => t.expect)).toBe(true);
        expect(compiled.profile.tests.some((t) => t.reject)).toBe(true);
      });

      for (const vector of compiled.profile.tests) {
        it(vector.name, () => {
          const payload = Buffer.from(vector.payloadText ?? JSON.stringify(vector.payload));
          const outcome = pipeline.process(contextOf(id), payload, RECEIVED_AT);
          if (vector.reject) {
            expect(outcome.readings).toEqual([]);
            expect(outcome.rejections.map((r) => r.code)).toEqual([vector.reject]);
            return;
          }
          expect(outcome.rejections.map((r) => r.reason)).toEqual([]);
          expect(outcome.readings).toHaveLength(1);
          expect(outcome.readings[0]!.values).toEqual(vector.expect);
          if (vector.expectTime) expect(new Date(outcome.readings[0]!.time).toISOString()).toBe(vector.expectTime);
        });
      }
    });
  }
});

describe('loading profiles', () => {
  const tmp = tempDir();
  afterEach(() => {
    for (const f of fs.readdirSync(tmp.dir)) fs.rmSync(path.join(tmp.dir, f));
  });

  function copyBundled(id: string) {
    fs.copyFileSync(path.join(bundledProfilesDir(), `${id}.json`), path.join(tmp.dir, `${id}.json`));
  }

  function problemsOf(): string {
    try {
      loadProfiles(tmp.dir);
    } catch (err) {
      expect(err).toBeInstanceOf(TestbedError);
      expect((err as TestbedError).code).toBe('TESTBED_PROFILE_INVALID');
      return (err as Error).message;
    }
    throw new Error('expected the profiles to be refused');
  }

  it('names the file and the problem of every broken profile', () => {
    copyBundled('noise');
    fs.writeFileSync(path.join(tmp.dir, 'broken.json'), '{ not json');
    const bad = JSON.parse(fs.readFileSync(path.join(bundledProfilesDir(), 'weather.json'), 'utf8'));
    bad.measurements[0].range = { min: 10, max: 0 };
    bad.measurements.push({ name: 'device', quantity: 'x', unit: 'x', range: { min: 0, max: 1 } });
    fs.writeFileSync(path.join(tmp.dir, 'weather.json'), JSON.stringify(bad));
    const message = problemsOf();
    expect(message).toContain(`${path.join(tmp.dir, 'broken.json')}: not valid JSON`);
    expect(message).toContain(`${path.join(tmp.dir, 'weather.json')}: measurements.0.range: range.min must be below range.max`);
    expect(message).toContain('"device" is reserved');
    expect(message).not.toContain('noise.json');
  });

  it('requires the id to match the file name', () => {
    copyBundled('noise');
    fs.renameSync(path.join(tmp.dir, 'noise.json'), path.join(tmp.dir, 'sound.json'));
    expect(problemsOf()).toContain('id "noise" must match the file name');
  });

  it('refuses an empty folder', () => {
    expect(problemsOf()).toContain('no *.json device profiles');
  });
});
