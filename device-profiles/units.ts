/**
 * The quantities a profile may measure, each with its one canonical unit (the
 * unit its readings are stored in) and the alternative units a device may send
 * instead, with their conversion to the canonical unit. Policy as data: a
 * profile's measurement names one quantity, must use its canonical unit, and
 * may declare some of its alternatives (`alternativeUnits`); ingest converts
 * values sent in those. A new quantity or unit is added here.
 *
 * Aliases are other spellings of the same unit, chiefly the SenML symbols
 * (RFC 8428 section 12.1 and RFC 8798: `Cel`, `%RH`, `ug/m3`, `lat`, ...), so a
 * SenML record names its unit the way the registry spells it.
 */
export interface UnitDefinition {
  /** The symbol profiles use, e.g. `°F`. */
  readonly symbol: string;
  /** Other spellings of the same unit that payloads may use. */
  readonly aliases?: readonly string[];
  /** The SenML registry's symbol, when it is not `symbol` (RFC 8428 section 12.1; RFC 8798). */
  readonly senml?: string;
  /** value in the canonical unit = value × scale + offset. */
  readonly scale: number;
  readonly offset?: number;
}

export interface QuantityDefinition {
  readonly description: string;
  /** The unit readings are stored in (scale 1, offset 0). */
  readonly canonical: UnitDefinition;
  readonly alternatives: readonly UnitDefinition[];
}

const unit = (symbol: string, scale: number, offset = 0, aliases: readonly string[] = []): UnitDefinition => ({ symbol, scale, offset, aliases });
/** A canonical unit; `aliases[0]` is its SenML symbol when `senml` is true. */
const canonical = (symbol: string, aliases: readonly string[] = [], senml = false): UnitDefinition => ({
  symbol,
  scale: 1,
  offset: 0,
  aliases,
  ...(senml ? { senml: aliases[0] } : {}),
});

/** µ as the micro sign (U+00B5) and as the Greek letter mu (U+03BC): devices send both. */
const MICRO = ['ug/m3', 'μg/m³', 'µg/m3', 'μg/m3'];

export const QUANTITIES = {
  temperature: {
    description: 'temperature',
    canonical: canonical('°C', ['Cel', 'degC'], true),
    alternatives: [unit('°F', 5 / 9, -160 / 9, ['degF']), unit('K', 1, -273.15)],
  },
  relative_humidity: { description: 'relative humidity', canonical: canonical('%', ['%RH'], true), alternatives: [] },
  pressure: {
    description: 'atmospheric pressure',
    canonical: canonical('hPa', ['mbar']),
    alternatives: [unit('Pa', 0.01), unit('kPa', 10), unit('mmHg', 1.33322387415), unit('inHg', 33.8638866667)],
  },
  speed: {
    description: 'speed (wind, vehicles, a moving device)',
    canonical: canonical('m/s'),
    alternatives: [unit('km/h', 1 / 3.6), unit('mph', 0.44704), unit('kn', 1852 / 3600, 0, ['kt'])],
  },
  angle: {
    description: 'an angle or compass direction, clockwise from north',
    canonical: canonical('°', ['deg'], true),
    alternatives: [unit('rad', 180 / Math.PI)],
  },
  latitude: { description: 'WGS 84 latitude, north positive', canonical: canonical('°', ['lat'], true), alternatives: [] },
  longitude: { description: 'WGS 84 longitude, east positive', canonical: canonical('°', ['lon'], true), alternatives: [] },
  precipitation_rate: { description: 'precipitation intensity', canonical: canonical('mm/h'), alternatives: [unit('in/h', 25.4)] },
  mass_concentration: {
    description: 'mass concentration in air (particles, NO2, O3)',
    canonical: canonical('µg/m³', MICRO, true),
    alternatives: [unit('mg/m³', 1000, 0, ['mg/m3'])],
  },
  volume_fraction: { description: 'volume fraction of a gas in air (CO2)', canonical: canonical('ppm'), alternatives: [unit('ppb', 0.001)] },
  sound_pressure_level: { description: 'A-weighted sound pressure level', canonical: canonical('dB(A)', ['dBA']), alternatives: [] },
  length: {
    description: 'a length, height or distance',
    canonical: canonical('m'),
    alternatives: [unit('cm', 0.01), unit('mm', 0.001), unit('km', 1000), unit('ft', 0.3048)],
  },
  film_thickness: {
    description: 'thickness of a water, snow or ice film on a surface',
    canonical: canonical('mm'),
    alternatives: [unit('µm', 0.001, 0, ['um', 'μm'])],
  },
  friction_coefficient: { description: 'friction coefficient of a surface (grip), 0 to 1', canonical: canonical('1'), alternatives: [] },
  count: { description: 'things counted over the reporting interval, or present now', canonical: canonical('count'), alternatives: [] },
  state: { description: 'an on/off state: 1 on (occupied, open), 0 off', canonical: canonical('1', ['/'], true), alternatives: [] },
  fraction: { description: 'a share of a whole (fill level, occupancy)', canonical: canonical('%'), alternatives: [unit('/', 100)] },
  battery_level: { description: 'remaining battery charge', canonical: canonical('%', ['%EL'], true), alternatives: [] },
  energy: {
    description: 'electrical energy, cumulative',
    canonical: canonical('kWh'),
    alternatives: [unit('Wh', 0.001), unit('MWh', 1000), unit('J', 1 / 3.6e6), unit('MJ', 1 / 3.6)],
  },
  power: { description: 'electrical active power; negative when exporting', canonical: canonical('W'), alternatives: [unit('kW', 1000)] },
  voltage: { description: 'electric potential (mains or battery)', canonical: canonical('V'), alternatives: [unit('mV', 0.001)] },
  current: { description: 'electric current', canonical: canonical('A'), alternatives: [unit('mA', 0.001)] },
  frequency: { description: 'frequency (mains)', canonical: canonical('Hz'), alternatives: [] },
  signal_strength: { description: 'received signal strength (RSSI)', canonical: canonical('dBm'), alternatives: [] },
  signal_to_noise_ratio: { description: 'signal-to-noise ratio of the radio link', canonical: canonical('dB'), alternatives: [] },
  duration: { description: 'a span of time (a reporting interval, a delay)', canonical: canonical('s'), alternatives: [unit('min', 60), unit('h', 3600)] },
} as const satisfies Record<string, QuantityDefinition>;

export type Quantity = keyof typeof QUANTITIES;

export const QUANTITY_NAMES = Object.keys(QUANTITIES) as Quantity[];

export function isQuantity(name: string): name is Quantity {
  return Object.hasOwn(QUANTITIES, name);
}

/** How a value in some unit becomes a value in the canonical unit. */
export interface Conversion {
  /** The unit as the profile names it (`°F`), also for an alias (`degF`). */
  readonly unit: string;
  readonly scale: number;
  readonly offset: number;
  /** True for the canonical unit: the value is stored as sent. */
  readonly identity: boolean;
}

/** How a SenML record names a unit (`Cel` for °C), for senders: the registry's symbol where it differs. */
export function senmlSymbol(quantity: Quantity, symbol: string): string {
  return findUnit(quantity, symbol)?.senml ?? symbol;
}

/** The definition of `symbol` (or of a unit it is an alias of) within a quantity. */
export function findUnit(quantity: Quantity, symbol: string): UnitDefinition | undefined {
  const q: QuantityDefinition = QUANTITIES[quantity];
  for (const u of [q.canonical, ...q.alternatives]) if (u.symbol === symbol || u.aliases?.includes(symbol)) return u;
  return undefined;
}

/**
 * Every spelling a measurement of `quantity` accepts, mapped to its conversion:
 * the canonical unit and its aliases always, and each of `alternatives` (symbols
 * checked at load) with its aliases.
 */
export function acceptedUnits(quantity: Quantity, alternatives: readonly string[]): Map<string, Conversion> {
  const q: QuantityDefinition = QUANTITIES[quantity];
  const accepted = new Map<string, Conversion>();
  const add = (u: UnitDefinition) => {
    const conversion: Conversion = { unit: u.symbol, scale: u.scale, offset: u.offset ?? 0, identity: u.scale === 1 && (u.offset ?? 0) === 0 };
    for (const spelling of [u.symbol, ...(u.aliases ?? [])]) accepted.set(spelling, conversion);
  };
  add(q.canonical);
  for (const symbol of alternatives) {
    const u = findUnit(quantity, symbol);
    if (u) add(u);
  }
  return accepted;
}

/**
 * Rounds to 12 significant digits: removes the binary noise a conversion or
 * scale adds (40.5 × 5/9 = 22.500000000000004) and keeps every digit a sensor
 * can have measured. Dividing an exact integer by an exact power of ten is
 * correctly rounded, so 22.5 comes out as the double nearest 22.5.
 */
export function roundSignificant(value: number, digits = 12): number {
  if (value === 0 || !Number.isFinite(value)) return value;
  const exponent = digits - 1 - Math.floor(Math.log10(Math.abs(value)));
  if (exponent > 300 || exponent < -300) return value;
  if (exponent >= 0) {
    const p = 10 ** exponent;
    return Math.round(value * p) / p;
  }
  const p = 10 ** -exponent;
  return Math.round(value / p) * p;
}

/** A value in the unit of `conversion`, in the canonical unit. */
export function toCanonical(value: number, conversion: Conversion): number {
  return conversion.identity ? value : roundSignificant(value * conversion.scale + conversion.offset);
}

/** A canonical value in the unit of `conversion` (the inverse of toCanonical; simulators send alternative units with it). */
export function fromCanonical(value: number, conversion: Conversion): number {
  return conversion.identity ? value : roundSignificant((value - conversion.offset) / conversion.scale);
}
