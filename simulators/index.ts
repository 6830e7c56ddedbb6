/**
 * Virtual devices that stand in for hardware: scenarios, provisioning through
 * the API, and the simulation run itself.
 */
export * from './credentials.js';
export * from './errors.js';
export * from './faults.js';
export * from './modes.js';
export * from './provision.js';
export * from './provision-scenario.js';
export * from './random.js';
export * from './reporter.js';
export * from './run.js';
export * from './scenario.js';
