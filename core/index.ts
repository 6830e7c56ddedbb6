/**
 * The kernel every stage shares: configuration, the error catalogue, the
 * domain model and scopes, the topic builder and parser, the logger and
 * secrets, and how an instant is written. It imports no stage.
 */
export * from './commands.js';
export * from './address-policy.js';
export * from './cluster.js';
export * from './config.js';
export * from './device-config.js';
export * from './errors.js';
export * from './events.js';
export * from './failure-throttle.js';
export * from './geo.js';
export * from './licence.js';
export * from './lifecycle.js';
export * from './health.js';
export * from './log.js';
export * from './model.js';
export * from './scope-sql.js';
export * from './secrets.js';
export * from './time.js';
export * from './tls.js';
export * from './topics.js';
export * from './webhooks.js';
