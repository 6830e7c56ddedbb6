import { describe, expect, it } from 'vitest';
import { configDelta } from '../core/device-config.js';
import { configProblems } from '../device-profiles/command-params.js';
import { profileSchema } from '../device-profiles/format.js';
import { bundledProfilesDir, loadProfiles } from '../device-profiles/load.js';

/** Configuration keys declared by profiles, and the checks of desired and reported documents against them. */
describe('configuration keys', () => {
  const beacon = loadProfiles(bundledProfilesDir()).get('safety-beacon')!.profile;

  it('every bundled profile declares reportingIntervalSeconds as an integer duration in seconds', () => {
    for (const { profile } of loadProfiles(bundledProfilesDir()).values()) {
      expect(
        profile.configuration.find((f) => f.name === 'reportingIntervalSeconds'),
        profile.id,
      ).toMatchObject({
        type: 'integer',
        quantity: 'duration',
        unit: 's',
        range: { min: 5, max: 86400 },
      });
    }
  });

  it('finds every problem in a document: unknown keys, wrong types, values out of range', () => {
    expect(configProblems(beacon.configuration, {})).toEqual([]);
    expect(configProblems(beacon.configuration, { reportingIntervalSeconds: 60, ledEnabled: false })).toEqual([]);
    const problems = configProblems(beacon.configuration, { reportingIntervalSeconds: 4, ledEnabled: 'off', colour: 'red', other: 1 });
    expect(problems.map((p) => p.param)).toEqual(['reportingIntervalSeconds', 'ledEnabled', 'colour', 'other']);
    expect(problems[0]!.message).toMatch(/5/);
    expect(problems[2]!.message).toContain('reportingIntervalSeconds, ledEnabled');
    expect(configProblems(beacon.configuration, { reportingIntervalSeconds: 30.5 })).toHaveLength(1);
    expect(configProblems(beacon.configuration, { reportingIntervalSeconds: null })).toHaveLength(1);
  });

  it('refuses a profile whose configuration key appears twice or is badly named', () => {
    const base = {
      formatVersion: 1,
      id: 'x-meter',
      name: 'X',
      reportingIntervalSeconds: 60,
      measurements: [{ name: 'temperature', quantity: 'temperature', unit: '°C', range: { min: -50, max: 80 } }],
    };
    const field = { name: 'ledEnabled', type: 'boolean' };
    expect(profileSchema.safeParse({ ...base, configuration: [field] }).success).toBe(true);
    expect(profileSchema.safeParse({ ...base, configuration: [field, field] }).success).toBe(false);
    expect(profileSchema.safeParse({ ...base, configuration: [{ ...field, name: 'Led-Enabled' }] }).success).toBe(false);
  });

  it('the delta holds the desired keys not reported with the same value', () => {
    expect(configDelta(undefined, { a: 1 })).toEqual({});
    expect(configDelta({ a: 1, b: { c: [1] }, d: true }, { a: 1, b: { c: [2] } })).toEqual({
      b: { desired: { c: [1] }, reported: { c: [2] } },
      d: { desired: true },
    });
  });
});
