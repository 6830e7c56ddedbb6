/**
 * Device profiles: the declarative format, the bundled library, and the rules
 * compiled from a profile (ranges, units, binary layouts) that ingest applies.
 */
export * from './command-params.js';
export * from './compile.js';
export * from './contract.js';
export * from './format.js';
export * from './format-binary.js';
export * from './format-commands.js';
export * from './load.js';
export * from './rules.js';
export * from './units.js';
