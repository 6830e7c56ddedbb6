/**
 * unitOfMeasurement of a Datastream (OGC 18-088 8.2.4: name, symbol, definition):
 * the profiles' canonical unit symbols, each with its QUDT unit URI as the
 * definition. A symbol missing here answers with the UCUM home as definition.
 */
const QUDT = 'http://qudt.org/vocab/unit/';
const UNITS: Readonly<Record<string, readonly [name: string, qudt: string]>> = {
  '°C': ['degree Celsius', 'DEG_C'],
  '%': ['percent', 'PERCENT'],
  hPa: ['hectopascal', 'HectoPA'],
  'm/s': ['metre per second', 'M-PER-SEC'],
  '°': ['degree', 'DEG'],
  'mm/h': ['millimetre per hour', 'MilliM-PER-HR'],
  'µg/m³': ['microgram per cubic metre', 'MicroGM-PER-M3'],
  ppm: ['parts per million', 'PPM'],
  'dB(A)': ['A-weighted decibel', 'DeciB_A'],
  m: ['metre', 'M'],
  mm: ['millimetre', 'MilliM'],
  '1': ['one (dimensionless)', 'UNITLESS'],
  count: ['count', 'NUM'],
  kWh: ['kilowatt hour', 'KiloW-HR'],
  W: ['watt', 'W'],
  V: ['volt', 'V'],
  A: ['ampere', 'A'],
  Hz: ['hertz', 'HZ'],
  dBm: ['decibel referred to one milliwatt', 'DeciB_M'],
  dB: ['decibel', 'DeciB'],
};

export interface UnitOfMeasurement {
  readonly name: string;
  readonly symbol: string;
  readonly definition: string;
}

export function unitOfMeasurement(symbol: string): UnitOfMeasurement {
  const known = UNITS[symbol];
  return known ? { name: known[0], symbol, definition: QUDT + known[1] } : { name: symbol, symbol, definition: 'https://ucum.org/ucum' };
}

/** OGC 18-088 Table 13: every result here is a number. */
export const OM_MEASUREMENT = 'http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement';
