/**
 * The shapes the console reads from the API: the fields it uses of the
 * schemas in api/schemas (GET /openapi.json documents them in full). The
 * console builds for the browser and imports nothing of the server's folders,
 * so these are a reader's view, checked by the browser tests against the real API.
 */
export type Role = 'admin' | 'operator' | 'company' | 'researcher';

export interface Testbed {
  id: string;
  name: string;
  city: string;
}
export interface Company {
  id: string;
  name: string;
}
export interface Pilot {
  id: string;
  companyId: string;
  testbedId: string;
  name: string;
  startsAt: string | null;
  endsAt: string | null;
  endedAt: string | null;
  sharing: 'private' | 'research' | 'open';
  createdAt: string;
}
export interface Device {
  id: string;
  pilotId: string;
  companyId: string;
  testbedId: string;
  profile: string;
  name: string | null;
  username: string;
  createdAt: string;
  revokedAt: string | null;
  connection: { online: boolean; lastSeen: string | null };
}
export interface Measurement {
  name: string;
  quantity: string;
  unit: string;
  range?: { min: number; max: number };
  plausible?: { min: number; max: number };
  description?: string;
}
export interface Profile {
  id: string;
  name: string;
  description?: string;
  reportingIntervalSeconds?: number;
  measurements: Measurement[];
}
export interface DeviceReading {
  deviceId: string;
  time: string;
  values: Record<string, number>;
  suspect?: string[];
}
export interface Aggregates {
  every: string;
  fn: string;
  aggregates: { deviceId: string; time: string; values: Record<string, number> }[];
}
export interface Rejection {
  time: string;
  code: string;
  reason: string;
  payload: string;
  payloadEncoding: 'utf8' | 'base64';
  payloadBytes: number;
}
export interface ApiKey {
  id: string;
  role: Role;
  companyId: string | null;
  testbedIds: string[] | null;
  name: string | null;
  readOnly: boolean;
  expiresAt: string | null;
  revokedAt: string | null;
  createdAt: string;
}
/** `GET /v1/health`: a status and the pipeline's counters, whose fields may grow. */
export interface Health {
  status: string;
  [field: string]: unknown;
}
/** `GET /v1/me`: the signed-in key and the operations it may call ("GET /v1/keys"). */
export interface Me {
  keyId: string;
  role: Role;
  companyId: string | null;
  testbedIds: string[] | null;
  readOnly: boolean;
  expiresAt: string | null;
  operations: string[];
}
export type HealthStatus = 'never' | 'ok' | 'late' | 'silent';
export interface DeviceHealth {
  status: HealthStatus;
  online: boolean;
  lastSeen: string | null;
  lastReadingAt: string | null;
  battery?: { value: number; low: boolean };
  rejectionsLastHour: Record<string, number>;
}
export interface Point {
  type: 'Point';
  coordinates: number[];
}
/** A device of the fleet view (`GET /v1/devices`): its location and health. */
export interface FleetDevice extends Device {
  location: Point | null;
  health: DeviceHealth;
}
export interface DeviceEvent {
  time: string;
  type: 'connected' | 'disconnected' | 'status' | 'will';
  reason?: string;
  from?: HealthStatus;
  to?: HealthStatus;
  payload?: string;
}
export interface CreatedDevice extends Device {
  mqtt: { url: string; username: string; password: string; topic: string };
}
export interface TestbedHealth {
  testbedId: string;
  devices: { total: number; online: number; batteryLow: number; byStatus: Record<string, number> };
  gateway: { connections: number; queue: { depthBytes: number; oldestAgeSeconds: number | null }; store: { reachable: boolean } } | null;
}
export interface AlertRule {
  id: string;
  name: string | null;
  condition: string;
  threshold: number | null;
  holdSeconds: number;
  testbedId: string;
  pilotId: string | null;
  createdAt: string;
}
export interface Alert {
  id: string;
  ruleId: string;
  condition: string;
  state: 'open' | 'resolved';
  openedAt: string;
  resolvedAt: string | null;
  deviceId?: string;
  testbedId: string;
  pilotId: string | null;
  message: string;
}
export interface Webhook {
  id: string;
  url: string;
  events: string[];
  companyId: string | null;
  testbedId: string | null;
  pilotId: string | null;
  createdAt: string;
}
export interface WebhookDelivery {
  id: string;
  eventType: string;
  createdAt: string;
  state: 'pending' | 'delivered' | 'failed';
  attempts: { statusCode: number | null; error: string | null }[];
}
export interface Dataset {
  pilotId: string;
  name: string;
  testbedId: string;
  sharingNow: string;
  licence: string | null;
  attribution: string | null;
  citation: string | null;
  profiles: string[];
  measurements: string[];
  devices: number;
  coverage: { from: string; to: string } | null;
  download: string;
}
