import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type SimulatorError } from '../simulators/errors.js';
import { ProvisionError, provisionDevices } from '../simulators/provision.js';

/**
 * provisionDevices over real HTTP against a stand-in for the API's device
 * registration (the API itself is tested with its own suite). `answer`
 * decides each response.
 */
interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
  body: unknown;
}
const seen: Seen[] = [];
let answer: (n: number, body: { name: string; profile: string }) => { status: number; body: string };
let fakeApi: http.Server;
let apiUrl: string;

const created = (n: number) => ({
  status: 201,
  body: JSON.stringify({
    id: `dev_${n}`,
    pilotId: 'p-1',
    profile: 'weather',
    name: `sim-${n}`,
    username: `dev_${n}`,
    createdAt: '2026-01-01T00:00:00Z',
    mqtt: { username: `dev_${n}`, password: `pw-${n}` },
  }),
});

beforeAll(async () => {
  fakeApi = http.createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => (text += String(chunk)));
    req.on('end', () => {
      const body = JSON.parse(text) as { name: string; profile: string };
      seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body });
      const { status, body: out } = answer(seen.length, body);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(out);
    });
  });
  await new Promise<void>((resolve) => fakeApi.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(fakeApi.address() as AddressInfo).port}`;
});

beforeEach(() => {
  seen.length = 0;
  answer = created;
});

afterAll(async () => {
  await new Promise<void>((resolve) => fakeApi.close(() => resolve()));
});

const options = { apiKey: 'key-1', pilotId: 'p-1', profile: 'weather', count: 3 };

describe('provisionDevices', () => {
  it('registers the devices one by one and returns their MQTT credentials in order', async () => {
    const made = await provisionDevices({ ...options, apiUrl });
    expect(made).toEqual([1, 2, 3].map((n) => ({ deviceId: `dev_${n}`, username: `dev_${n}`, password: `pw-${n}`, profile: 'weather' })));
    expect(seen).toEqual(
      [1, 2, 3].map((n) => ({ method: 'POST', url: '/v1/pilots/p-1/devices', auth: 'Bearer key-1', body: { profile: 'weather', name: `sim-${n}` } })),
    );
  });

  it('keeps a path prefix of the API URL and escapes the pilot id', async () => {
    await provisionDevices({ ...options, apiUrl: `${apiUrl}/testbed`, pilotId: 'p 1/x', count: 1, namePrefix: 'bench', firstIndex: 7 });
    expect(seen[0]).toMatchObject({ url: '/testbed/v1/pilots/p%201%2Fx/devices', body: { name: 'bench-7' } });
  });

  it("surfaces the API's error message and code", async () => {
    answer = () => ({
      status: 401,
      body: JSON.stringify({ error: { code: 'TESTBED_UNAUTHORIZED', message: 'A valid API key is required (Authorization: Bearer <key>)' } }),
    });
    const err = (await provisionDevices({ ...options, apiUrl }).catch((e: unknown) => e)) as ProvisionError;
    expect(err).toBeInstanceOf(ProvisionError);
    expect(err.kind).toBe('api');
    expect(err.serverCode).toBe('TESTBED_UNAUTHORIZED');
    expect(err.message).toBe('could not register sim-1 in pilot p-1: A valid API key is required (Authorization: Bearer <key>) (TESTBED_UNAUTHORIZED)');
    expect(err.provisioned).toEqual([]);
  });

  it('hands back the devices made before a failure, whose passwords would otherwise be lost', async () => {
    answer = (n) => (n < 3 ? created(n) : { status: 500, body: 'oops' });
    const err = (await provisionDevices({ ...options, apiUrl }).catch((e: unknown) => e)) as ProvisionError;
    expect(err.message).toMatch(/could not register sim-3 in pilot p-1: HTTP 500 Internal Server Error/);
    expect(err.provisioned.map((d) => d.deviceId)).toEqual(['dev_1', 'dev_2']);
  });

  it('rejects a 201 without credentials', async () => {
    answer = () => ({ status: 201, body: JSON.stringify({ id: 'dev_1' }) });
    await expect(provisionDevices({ ...options, apiUrl })).rejects.toThrow(/has no id and mqtt/);
  });

  it('says when the API cannot be reached', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = (await provisionDevices({ ...options, apiUrl: `http://127.0.0.1:${port}` }).catch((e: unknown) => e)) as SimulatorError;
    expect(err.kind).toBe('unreachable');
    expect(err.message).toBe(`cannot reach the API at http://127.0.0.1:${port} (ECONNREFUSED): is it running?`);
  });

  it('stops when aborted', async () => {
    const stop = new AbortController();
    answer = (n) => {
      stop.abort();
      return created(n);
    };
    const err = (await provisionDevices({ ...options, apiUrl, signal: stop.signal }).catch((e: unknown) => e)) as ProvisionError;
    expect(err.kind).toBe('aborted');
    expect(seen).toHaveLength(1);
  });
});
