/**
 * The registry: testbeds, companies, pilots, devices, API keys and the audit
 * log. `TestbedRegistry` is the one door to tenant data: every read and write
 * takes the caller's scope. The tables behind it are not exported.
 */
export { resolveAdminToken, type AdminToken } from './admin-token.js';
export { grantProblems, mayManage, refuseGrant, scopeOf } from './key-policy.js';
export type { AuditQuery, AuditRecord } from './audit.js';
export type { CommandFilter, NewCommand, ResultRefusal } from './commands.js';
export type { DevicePage } from './device-pages.js';
export type { DeviceChanges, DeviceFieldData, DeviceFilter, DeviceProblem, NewDevice } from './devices.js';
export type { NewPilot, PilotChanges, PilotFilter } from './pilots.js';
export { Registry, SETUP_CALLER, type RegistryOptions } from './registry.js';
export type { RegistryErasure } from './lifecycle.js';
export type { CreatedDevice, CreatedKey, HealthLedger, LifecycleLedger, CreatedWebhook, NewWebhook, TestbedRegistry } from './testbed-registry.js';
export type { NewAlert, NewAlertRule } from './alerts.js';
export type { FleetCounts, FleetFilter, FleetRow } from './fleet.js';
export { NO_HEALTH, type ActivityUpdate, type ConnectionUpdate, type HealthRecord, type StatusChange } from './health.js';
export type { AttemptRecord, DueMessage, OutboxEvent, WebhookOutbox } from './webhook-outbox.js';
