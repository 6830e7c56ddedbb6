import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProfiles } from '../device-profiles/load.js';
import { type SimulatorError } from '../simulators/errors.js';
import { bundledScenariosDir, loadScenario, planScenario } from '../simulators/scenario.js';
import { tempDir } from './helpers/tmp.js';

const profiles = loadProfiles();
const CITIES = ['helsinki', 'espoo', 'vantaa', 'tampere', 'turku', 'oulu'];
const tmp = tempDir();
afterAll(() => tmp.remove());

describe('scenario files', () => {
  it('ship one per city, each valid against the bundled profiles', () => {
    expect(fs.readdirSync(bundledScenariosDir()).sort()).toEqual(CITIES.map((c) => `${c}.json`).sort());
    for (const city of CITIES) {
      const scenario = loadScenario(city, profiles);
      expect(scenario.testbed).toBe(city);
      expect(scenario.pilots.length).toBeGreaterThanOrEqual(3);
      expect(scenario.seed).toBeTypeOf('number');
    }
  });

  it('together run a device of every profile, in every format it takes', () => {
    const used = new Set(CITIES.flatMap((c) => planScenario(loadScenario(c, profiles), profiles).map((d) => `${d.profile} ${d.format}`)));
    for (const [id, { profile }] of profiles) for (const format of profile.formats) expect(used, `${id} ${format}`).toContain(`${id} ${format}`);
  });

  it('expand into devices: numbered names, formats taken in turn, rates from the interval and the speed', () => {
    const scenario = loadScenario('helsinki', profiles);
    const plan = planScenario(scenario, profiles);
    expect(plan).toHaveLength(scenario.pilots.flatMap((p) => p.devices).reduce((n, g) => n + g.count, 0));
    expect(plan.slice(0, 3).map((d) => d.name)).toEqual(['Kalasatamankatu lamp post 1', 'Kalasatamankatu lamp post 2', 'Kalasatamankatu lamp post 3']);
    const schools = plan.filter((d) => d.profile === 'indoor-air');
    expect(schools.map((d) => d.format)).toEqual(['binary', 'senml', 'binary', 'senml']);
    expect(schools[0]!.rate).toBeCloseTo(scenario.speed / 300);
    expect(planScenario(scenario, profiles, 600).find((d) => d.profile === 'air-quality')!.rate).toBe(10);
    const scooters = plan.filter((d) => d.profile === 'gps-tracker');
    expect(scooters[0]!.faults).toMatchObject({ backlog: 0.02, skewSeconds: 3600 });
    expect(plan.find((d) => d.profile === 'noise')!.faults).toMatchObject({ malformed: 0.004 });
    expect(plan.find((d) => d.profile === 'weather')!.units).toBe('alternative');
  });

  it('name every problem of a broken scenario in one error', () => {
    const file = path.join(tmp.dir, 'broken.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        scenarioVersion: 1,
        name: 'Broken',
        testbed: 'helsinki',
        faults: { malformed: 0.7, gap: 0.7 },
        pilots: [
          {
            name: 'P',
            company: 'C',
            devices: [
              { profile: 'lidar', name: 'x' },
              { profile: 'noise', name: 'y', format: 'binary' },
            ],
          },
        ],
      }),
    );
    expect(() => loadScenario(file, profiles)).toThrow(/faults: the fault rates add up to more than 1/);
    const fixed = JSON.parse(fs.readFileSync(file, 'utf8'));
    delete fixed.faults;
    fs.writeFileSync(file, JSON.stringify(fixed));
    const err = (() => {
      try {
        loadScenario(file, profiles);
      } catch (e) {
        return e as SimulatorError;
      }
      throw new Error('expected a refusal');
    })();
    expect(err.kind).toBe('bad-input');
    expect(err.message).toContain('pilots.0.devices.0.profile: unknown profile "lidar"');
    expect(err.message).toContain('pilots.0.devices.1.format: noise accepts json, senml, not binary');
  });
});
