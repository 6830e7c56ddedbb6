import type {
  Aggregates,
  Alert,
  AlertRule,
  ApiKey,
  Company,
  CreatedDevice,
  Dataset,
  Device,
  DeviceEvent,
  DeviceReading,
  FleetDevice,
  Health,
  Me,
  Pilot,
  Profile,
  Rejection,
  Testbed,
  TestbedHealth,
  Webhook,
  WebhookDelivery,
} from './types.js';

/**
 * The one client every page uses. It holds the API key (in sessionStorage, so
 * it lasts for this tab's session and never appears in a URL), sends it as a
 * bearer token, and turns every failed answer into an ApiError carrying the
 * API's code and message, so each page shows errors the same way.
 */
const KEY_ITEM = 'testbed.apiKey';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const session = {
  key: (): string | null => sessionStorage.getItem(KEY_ITEM),
  signIn: (key: string): void => sessionStorage.setItem(KEY_ITEM, key),
  signOut: (): void => sessionStorage.removeItem(KEY_ITEM),
};

/** Called when the API answers 401 to a signed-in key (revoked or expired): the shell signs out. */
let onUnauthorised: (error: ApiError) => void = () => {};
export function whenUnauthorised(handler: (error: ApiError) => void): void {
  onUnauthorised = handler;
}

type Query = Record<string, string | number | undefined>;

function url(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function errorOf(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string } };
    if (body.error?.code) return new ApiError(response.status, body.error.code, body.error.message ?? response.statusText);
  } catch {
    // Not the API's error body (a proxy's page, say): fall through to the status line.
  }
  return new ApiError(response.status, `HTTP_${response.status}`, `The server answered ${response.status} ${response.statusText}`);
}

/** A request's body: JSON, or a CSV file's text (bulk registration). */
export type Body = { json: unknown } | { csv: string };

/** Calls the API and parses its JSON answer; `key` overrides the session's (used to check a key before keeping it). */
async function request<T>(method: string, path: string, query?: Query, key: string | null = session.key(), signal?: AbortSignal, body?: Body): Promise<T> {
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  if (body) headers['content-type'] = 'json' in body ? 'application/json' : 'text/csv';
  let response: Response;
  try {
    const payload = body === undefined ? null : 'json' in body ? JSON.stringify(body.json) : body.csv;
    response = await fetch(url(path, query), { method, headers, body: payload, signal: signal ?? null });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'NETWORK', 'The gateway could not be reached; check that it is running and try again');
  }
  if (response.ok) {
    if (response.status === 204) return undefined as T;
    // Exports (format=csv) answer text; everything else is JSON.
    return ((response.headers.get('content-type') ?? '').startsWith('text/csv') ? await response.text() : await response.json()) as T;
  }
  const error = await errorOf(response);
  if (response.status === 401 && key !== null && key === session.key()) onUnauthorised(error);
  throw error;
}

/** GET a JSON answer. */
export const get = <T>(path: string, query?: Query, key: string | null = session.key(), signal?: AbortSignal): Promise<T> =>
  request<T>('GET', path, query, key, signal);

/** POST, PATCH or DELETE with the session's key. */
const send = <T>(method: 'POST' | 'PATCH' | 'DELETE', path: string, body?: Body): Promise<T> =>
  request<T>(method, path, undefined, session.key(), undefined, body);

/**
 * Reads a Server-Sent Events answer (text/event-stream) with the session's key:
 * EventSource cannot send an Authorization header, and the key must not go in
 * the URL, so the stream is read through fetch. Resolves when the stream ends
 * or `signal` aborts it.
 */
export async function stream(path: string, onEvent: (event: string, data: string) => void, signal: AbortSignal): Promise<void> {
  const key = session.key();
  const response = await fetch(path, { headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), accept: 'text/event-stream' }, signal });
  if (!response.ok || !response.body) throw await errorOf(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    text += value;
    // Events are separated by a blank line; lines starting with ':' are comments (heartbeats).
    const blocks = text.split('\n\n');
    text = blocks.pop() ?? '';
    for (const block of blocks) {
      const lines = block.split('\n').filter((line) => line && !line.startsWith(':'));
      // A block without data (the opening `retry:`) dispatches nothing (WHATWG HTML, server-sent events: dispatch).
      if (!lines.some((l) => l.startsWith('data:'))) continue;
      const field = (name: string) =>
        lines
          .filter((l) => l.startsWith(`${name}:`))
          .map((l) => l.slice(name.length + 1).replace(/^ /, ''))
          .join('\n');
      onEvent(field('event') || 'message', field('data'));
    }
  }
}

/**
 * The catalogue (testbeds, profiles) is the same for every key and fixed while the
 * gateway runs: read once per page load and shared by every page that asks. A failed
 * read is forgotten, so the next page asks again.
 */
const catalogue = new Map<string, Promise<unknown>>();
function once<T>(name: string, load: () => Promise<T>): Promise<T> {
  let answer = catalogue.get(name) as Promise<T> | undefined;
  if (!answer) {
    answer = load();
    catalogue.set(name, answer);
    answer.catch(() => catalogue.delete(name));
  }
  return answer;
}

/** The routes the console uses, by name. */
export const api = {
  /** Checks a key by reading the companies it may see: the cheapest scoped read. */
  check: (key: string) => get<{ companies: Company[] }>('/v1/companies', undefined, key),
  health: () => get<Health>('/v1/health', undefined, null),
  testbeds: () => once('testbeds', () => get<{ testbeds: Testbed[] }>('/v1/testbeds').then((r) => r.testbeds)),
  companies: () => get<{ companies: Company[] }>('/v1/companies').then((r) => r.companies),
  profiles: () => once('profiles', () => get<{ profiles: Profile[] }>('/v1/profiles').then((r) => r.profiles)),
  pilots: (filter: { testbedId?: string | undefined; companyId?: string | undefined } = {}) =>
    get<{ pilots: Pilot[] }>('/v1/pilots', filter).then((r) => r.pilots),
  pilot: (pilotId: string) => get<Pilot>(`/v1/pilots/${encodeURIComponent(pilotId)}`),
  pilotDevices: (pilotId: string) => get<{ devices: Device[] }>(`/v1/pilots/${encodeURIComponent(pilotId)}/devices`).then((r) => r.devices),
  pilotLatest: (pilotId: string) => get<{ latest: DeviceReading[] }>(`/v1/pilots/${encodeURIComponent(pilotId)}/latest`).then((r) => r.latest),
  device: (deviceId: string) => get<Device>(`/v1/devices/${encodeURIComponent(deviceId)}`),
  deviceAggregates: (deviceId: string, q: { from: number; to: number; every: string; measurements: string; fn?: string }, signal?: AbortSignal) =>
    get<Aggregates>(`/v1/devices/${encodeURIComponent(deviceId)}/aggregates`, q, session.key(), signal),
  deviceRejections: (deviceId: string, q: { from?: number; limit?: number } = {}) =>
    get<{ rejections: Rejection[] }>(`/v1/devices/${encodeURIComponent(deviceId)}/rejections`, q).then((r) => r.rejections),
  keys: () => get<{ keys: ApiKey[] }>('/v1/keys').then((r) => r.keys),
  createKey: (body: object) => send<ApiKey & { key: string }>('POST', '/v1/keys', { json: body }),
  revokeKey: (keyId: string) => send<ApiKey>('DELETE', `/v1/keys/${encodeURIComponent(keyId)}`),
  me: () => get<Me>('/v1/me'),
  /** The open-data catalogue; without a key, only open pilots. */
  datasets: () => get<{ datasets: Dataset[] }>('/v1/datasets').then((r) => r.datasets),
  fleet: (q: Query, signal?: AbortSignal) => get<{ devices: FleetDevice[]; next?: string }>('/v1/devices', q, session.key(), signal),
  deviceEvents: (deviceId: string, from: number) =>
    get<{ events: DeviceEvent[] }>(`/v1/devices/${encodeURIComponent(deviceId)}/events`, { from, limit: 200 }).then((r) => r.events),
  registerDevice: (pilotId: string, body: object) => send<CreatedDevice>('POST', `/v1/pilots/${encodeURIComponent(pilotId)}/devices`, { json: body }),
  registerDevices: (pilotId: string, csv: string) =>
    send<{ devices: CreatedDevice[] }>('POST', `/v1/pilots/${encodeURIComponent(pilotId)}/devices/bulk`, { csv }).then((r) => r.devices),
  rotateSecret: (deviceId: string) => send<CreatedDevice>('POST', `/v1/devices/${encodeURIComponent(deviceId)}/rotate-secret`),
  revokeDevice: (deviceId: string) => send<Device>('POST', `/v1/devices/${encodeURIComponent(deviceId)}/revoke`),
  testbedHealth: (testbedId: string) => get<TestbedHealth>(`/v1/testbeds/${encodeURIComponent(testbedId)}/health`),
  alerts: (state?: 'open' | 'resolved') => get<{ alerts: Alert[] }>('/v1/alerts', { state, limit: 500 }).then((r) => r.alerts),
  alertRules: () => get<{ rules: AlertRule[] }>('/v1/alert-rules').then((r) => r.rules),
  createAlertRule: (body: object) => send<AlertRule>('POST', '/v1/alert-rules', { json: body }),
  deleteAlertRule: (ruleId: string) => send<unknown>('DELETE', `/v1/alert-rules/${encodeURIComponent(ruleId)}`),
  webhooks: () => get<{ webhooks: Webhook[] }>('/v1/webhooks').then((r) => r.webhooks),
  createWebhook: (body: object) => send<Webhook & { secret: string }>('POST', '/v1/webhooks', { json: body }),
  deleteWebhook: (webhookId: string) => send<unknown>('DELETE', `/v1/webhooks/${encodeURIComponent(webhookId)}`),
  deliveries: (webhookId: string) =>
    get<{ deliveries: WebhookDelivery[] }>(`/v1/webhooks/${encodeURIComponent(webhookId)}/deliveries`, { limit: 50 }).then((r) => r.deliveries),
  /** A device's readings in a range as CSV (RFC 4180, one column per measurement), read with the key so the key stays out of the URL. */
  deviceCsv: (deviceId: string, from: number, to: number) =>
    get<string>(`/v1/devices/${encodeURIComponent(deviceId)}/readings`, { format: 'csv', from: Math.floor(from), to: Math.ceil(to) }),
  /** The console's run-time settings, served beside its files. */
  settings: () => get<{ tileUrl: string | null }>('/console.json', undefined, null),
};
