import { z } from 'zod';
import type { DeviceCredentials } from './credentials.js';
import { SimulatorError } from './errors.js';

export interface ProvisionOptions {
  /** The HTTP API, e.g. `http://127.0.0.1:8080`. */
  readonly apiUrl: string;
  /** An API key that may create devices in the pilot. */
  readonly apiKey: string;
  readonly pilotId: string;
  readonly profile: string;
  readonly count: number;
  /** Devices are named `<prefix>-<n>` (default `sim`). */
  readonly namePrefix?: string;
  /** The n of the first device (default 1). */
  readonly firstIndex?: number;
  readonly signal?: AbortSignal;
  /** Per request (default 10 s). */
  readonly timeoutMs?: number;
}

/** The parts of the API's 201 response the simulator needs; the rest is ignored. */
const createdDeviceSchema = z.object({
  id: z.string().min(1),
  profile: z.string().optional(),
  mqtt: z.object({ username: z.string().min(1), password: z.string().min(1) }),
});

const apiErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

/**
 * Thrown when provisioning stops part-way. The devices made before the failure
 * exist in the registry and their passwords are shown only once, so they are
 * handed back here rather than lost.
 */
export class ProvisionError extends SimulatorError {
  readonly provisioned: readonly DeviceCredentials[];

  constructor(cause: SimulatorError, provisioned: readonly DeviceCredentials[]) {
    super(cause.kind, cause.message, { serverCode: cause.serverCode, cause });
    this.name = 'ProvisionError';
    this.provisioned = provisioned;
  }
}

/**
 * Registers `count` devices of a profile in a pilot through the HTTP API, one
 * request at a time, and returns their MQTT credentials in order.
 */
export async function provisionDevices(o: ProvisionOptions): Promise<DeviceCredentials[]> {
  const url = new URL(`v1/pilots/${encodeURIComponent(o.pilotId)}/devices`, withSlash(o.apiUrl));
  const first = o.firstIndex ?? 1;
  const made: DeviceCredentials[] = [];
  for (let n = first; n < first + o.count; n++) {
    try {
      if (o.signal?.aborted) throw new SimulatorError('aborted', `stopped after registering ${made.length} of ${o.count} devices`);
      made.push(await createDevice(url, o, `${o.namePrefix ?? 'sim'}-${n}`));
    } catch (err) {
      if (!(err instanceof SimulatorError)) throw err;
      throw new ProvisionError(err, made);
    }
  }
  return made;
}

/** Registers one device named `name` in a pilot through the API. */
export function registerDevice(o: Omit<ProvisionOptions, 'count' | 'namePrefix' | 'firstIndex'>, name: string): Promise<DeviceCredentials> {
  return createDevice(new URL(`v1/pilots/${encodeURIComponent(o.pilotId)}/devices`, withSlash(o.apiUrl)), o, name);
}

async function createDevice(url: URL, o: Omit<ProvisionOptions, 'count' | 'namePrefix' | 'firstIndex'>, name: string): Promise<DeviceCredentials> {
  const body = await apiPost(
    url,
    o.apiKey,
    { profile: o.profile, name },
    { doing: `registering ${name}`, action: `register ${name} in pilot ${o.pilotId}` },
    o,
  );
  const created = createdDeviceSchema.safeParse(body);
  if (!created.success) throw new SimulatorError('api', `the API registered ${name} but its answer has no id and mqtt { username, password }`);
  return { deviceId: created.data.id, username: created.data.mqtt.username, password: created.data.mqtt.password, profile: created.data.profile ?? o.profile };
}

/**
 * POSTs JSON to the API and returns the 201 answer's body; anything else is a
 * SimulatorError that says what could not be done and why.
 */
export async function apiPost(
  url: URL,
  apiKey: string,
  payload: unknown,
  what: { readonly doing: string; readonly action: string },
  o: { readonly signal?: AbortSignal | undefined; readonly timeoutMs?: number | undefined } = {},
): Promise<unknown> {
  const timeout = AbortSignal.timeout(o.timeoutMs ?? 10_000);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(payload),
      signal: o.signal ? AbortSignal.any([o.signal, timeout]) : timeout,
    });
  } catch (err) {
    if (timeout.aborted && !o.signal?.aborted)
      throw new SimulatorError('timeout', `no answer from the API at ${url.origin} within ${o.timeoutMs ?? 10_000} ms`, { cause: err });
    if (o.signal?.aborted) throw new SimulatorError('aborted', `stopped while ${what.doing}`, { cause: err });
    const code = ((err as Error).cause as { code?: string } | undefined)?.code ?? (err as Error).message;
    throw new SimulatorError('unreachable', `cannot reach the API at ${url.origin} (${code}): is it running?`, { cause: err });
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (response.status !== 201) {
    const apiError = apiErrorSchema.safeParse(body);
    const detail = apiError.success ? `${apiError.data.error.message} (${apiError.data.error.code})` : `HTTP ${response.status} ${response.statusText}`;
    throw new SimulatorError('api', `could not ${what.action}: ${detail}`, { serverCode: apiError.success ? apiError.data.error.code : undefined });
  }
  return body;
}

/** `new URL(path, base)` drops the base's last segment unless it ends in a slash. */
export function withSlash(base: string): string {
  return base.endsWith('/') ? base : `${base}/`;
}
