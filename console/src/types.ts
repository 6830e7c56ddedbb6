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
