import { describe, expect, it } from 'vitest';
import { QUANTITIES, QUANTITY_NAMES, acceptedUnits, fromCanonical, roundSignificant, toCanonical, type Quantity } from '../device-profiles/units.js';

/** Each alternative unit with a value and what it is in the canonical unit, from the unit's definition, not from units.ts. */
const CASES: Record<string, readonly [quantity: Quantity, unit: string, value: number, canonical: number][]> = {
  temperature: [
    ['temperature', '°F', 32, 0],
    ['temperature', '°F', 212, 100],
    ['temperature', '°F', -40, -40],
    ['temperature', 'degF', 98.6, 37],
    ['temperature', 'K', 0, -273.15],
    ['temperature', 'K', 293.15, 20],
  ],
  pressure: [
    ['pressure', 'Pa', 101325, 1013.25],
    ['pressure', 'kPa', 98.7, 987],
    ['pressure', 'mmHg', 750.06, 1000.0],
    ['pressure', 'inHg', 29.92, 1013.21],
  ],
  speed: [
    ['speed', 'km/h', 36, 10],
    ['speed', 'km/h', 43.2, 12],
    ['speed', 'mph', 1, 0.44704],
    ['speed', 'kn', 1, 0.514444],
    ['speed', 'kt', 10, 5.14444],
  ],
  angle: [
    ['angle', 'rad', Math.PI, 180],
    ['angle', 'rad', Math.PI / 2, 90],
  ],
  precipitation_rate: [['precipitation_rate', 'in/h', 1, 25.4]],
  mass_concentration: [
    ['mass_concentration', 'mg/m³', 0.035, 35],
    ['mass_concentration', 'mg/m3', 1, 1000],
  ],
  volume_fraction: [['volume_fraction', 'ppb', 420_000, 420]],
  length: [
    ['length', 'cm', 34.7, 0.347],
    ['length', 'mm', -412, -0.412],
    ['length', 'km', 1.5, 1500],
    ['length', 'ft', 10, 3.048],
  ],
  film_thickness: [
    ['film_thickness', 'µm', 120, 0.12],
    ['film_thickness', 'um', 1500, 1.5],
  ],
  fraction: [
    ['fraction', '/', 0.215, 21.5],
    ['fraction', '/', 1, 100],
  ],
  energy: [
    ['energy', 'Wh', 123456789, 123456.789],
    ['energy', 'MWh', 1.5, 1500],
    ['energy', 'J', 3.6e6, 1],
    ['energy', 'MJ', 36, 10],
  ],
  power: [
    ['power', 'kW', 1.52, 1520],
    ['power', 'kW', -0.75, -750],
  ],
  voltage: [['voltage', 'mV', 3581, 3.581]],
  current: [['current', 'mA', 250, 0.25]],
  duration: [
    ['duration', 'min', 5, 300],
    ['duration', 'h', 1.5, 5400],
  ],
};

describe('unit conversions', () => {
  for (const [group, cases] of Object.entries(CASES)) {
    it(`converts ${group} to its canonical unit and back`, () => {
      for (const [quantity, unit, value, canonical] of cases) {
        const conversion = acceptedUnits(quantity, [unit]).get(unit)!;
        expect(conversion, `${unit} of ${quantity}`).toBeDefined();
        expect(toCanonical(value, conversion), `${value} ${unit}`).toBeCloseTo(canonical, 2);
        expect(fromCanonical(toCanonical(value, conversion), conversion)).toBeCloseTo(value, 6);
      }
    });
  }

  it('has a case for every alternative unit of every quantity', () => {
    const covered = new Set(
      Object.values(CASES)
        .flat()
        .map(([q, u]) => `${q} ${u}`),
    );
    for (const q of QUANTITY_NAMES) {
      for (const alternative of QUANTITIES[q].alternatives) expect(covered, `${q} ${alternative.symbol}`).toContain(`${q} ${alternative.symbol}`);
    }
  });

  it('stores exact decimals, not the binary noise of the arithmetic', () => {
    const f = acceptedUnits('temperature', ['°F']).get('°F')!;
    expect(toCanonical(72.5, f)).toBe(22.5);
    expect(toCanonical(71.6, f)).toBe(22);
    expect(toCanonical(263.15, acceptedUnits('temperature', ['K']).get('K')!)).toBe(-10);
    expect(toCanonical(18, acceptedUnits('speed', ['km/h']).get('km/h')!)).toBe(5);
    expect(toCanonical(34.7, acceptedUnits('length', ['cm']).get('cm')!)).toBe(0.347);
    expect(roundSignificant(0.1 + 0.2)).toBe(0.3);
    expect(roundSignificant(1e21 + 1)).toBe(1e21);
    expect(roundSignificant(-0.000012345678901234)).toBe(-0.0000123456789012);
    expect([0, -0, Infinity, Number.NaN].map((v) => roundSignificant(v))).toEqual([0, -0, Infinity, Number.NaN]);
  });

  it('leaves values in the canonical unit exactly as sent', () => {
    for (const q of QUANTITY_NAMES) {
      const { canonical } = QUANTITIES[q];
      for (const spelling of [canonical.symbol, ...(canonical.aliases ?? [])]) {
        const conversion = acceptedUnits(q, []).get(spelling)!;
        expect(conversion.identity, `${q} ${spelling}`).toBe(true);
        expect(toCanonical(0.1 + 0.2, conversion)).toBe(0.1 + 0.2);
      }
    }
  });

  it('accepts an alternative only when the measurement declares it', () => {
    expect([...acceptedUnits('temperature', []).keys()]).toEqual(['°C', 'Cel', 'degC']);
    expect([...acceptedUnits('temperature', ['K']).keys()]).toEqual(['°C', 'Cel', 'degC', 'K']);
    expect(acceptedUnits('relative_humidity', []).get('%RH')?.unit).toBe('%');
  });
});
