import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './helpers/cli.js';
import { ADMIN_TOKEN, startTestPipeline, type TestPipeline } from './helpers/pipeline.js';

/** The admin commands against a real server (in this process), run as the built `testbed` command. */
describe('testbed admin commands', () => {
  let p: TestPipeline;
  let env: Record<string, string>;
  beforeAll(async () => {
    p = await startTestPipeline();
    env = { TESTBED_API_URL: p.apiUrl, TESTBED_API_KEY: ADMIN_TOKEN };
  });
  afterAll(() => p?.close());

  /** Runs a command that must succeed; answers its stdout. */
  const ok = async (args: string[], withEnv = env) => {
    const r = await run(args, withEnv);
    expect(r.stderr, args.join(' ')).toBe('');
    expect(r.code, args.join(' ')).toBe(0);
    return r.stdout;
  };
  const json = async <T>(args: string[]) => JSON.parse(await ok([...args, '--json'])) as T;
  /** Whether the gateway lets these MQTT credentials in. */
  const canConnect = async (username: string, password: string) => {
    try {
      const client = await mqtt.connectAsync(p.mqttUrl, { username, password, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 });
      await client.endAsync();
      return true;
    } catch {
      return false;
    }
  };
  /** The lines of a table, each split at runs of two or more spaces. */
  const rows = (text: string) =>
    text
      .trimEnd()
      .split('\n')
      .map((line) => line.split(/ {2,}/));

  // About 25 runs of the command, one after another.
  it('sets up a company, a pilot, a device and a key, lists them, and winds them down', { timeout: 180_000 }, async () => {
    // A company: the table for people, the API's answer with --json.
    const created = rows(await ok(['companies', 'create', 'Ilmanlaatu Oy']));
    expect(created[0]).toEqual(['id', expect.stringMatching(/\S/)]);
    expect(created[1]).toEqual(['name', 'Ilmanlaatu Oy']);
    const companyId = created[0]![1]!;
    const second = await json<{ id: string; name: string }>(['companies', 'create', 'ParkkiData Oy']);
    expect(second.name).toBe('ParkkiData Oy');

    const companies = rows(await ok(['companies', 'list']));
    expect(companies[0]).toEqual(['ID', 'NAME', 'CREATED']);
    expect(companies.slice(1).map((r) => r.slice(0, 2))).toEqual(
      expect.arrayContaining([
        [companyId, 'Ilmanlaatu Oy'],
        [second.id, 'ParkkiData Oy'],
      ]),
    );
    // Columns line up: every row's second column starts where the header's does.
    const listing = (await ok(['companies', 'list'])).trimEnd().split('\n');
    const at = listing[0]!.indexOf('NAME');
    for (const line of listing.slice(1)) expect(line.slice(at - 2, at)).toBe('  ');

    // A pilot of the first company in Helsinki.
    const pilot = await json<{ id: string; companyId: string; testbedId: string; endsAt: string }>([
      'pilots',
      'create',
      '--company',
      companyId,
      '--testbed',
      'helsinki',
      '--name',
      'Kalasatama street air',
      '--ends',
      '2099-12-31T23:59:59Z',
    ]);
    expect(pilot).toMatchObject({ companyId, testbedId: 'helsinki', endsAt: '2099-12-31T23:59:59.000Z' });
    const pilots = rows(await ok(['pilots', 'list', '--company', companyId]));
    expect(pilots[0]!.slice(0, 4)).toEqual(['ID', 'NAME', 'COMPANY', 'TESTBED']);
    expect(pilots.slice(1).map((r) => r[0])).toEqual([pilot.id]);
    expect((await json<{ pilots: unknown[] }>(['pilots', 'list', '--company', second.id])).pilots).toEqual([]);

    // A device, whose password is printed once.
    const device = rows(await ok(['devices', 'add', '--pilot', pilot.id, '--profile', 'air-quality', '--name', 'Lamp post 1']));
    const field = (name: string) => device.find((r) => r[0] === name)?.[1];
    const deviceId = field('id')!;
    expect(field('profile')).toBe('air-quality');
    expect(field('mqtt password')).toMatch(/\S{16,}/);
    expect(field('mqtt topic')).toBe(`devices/${deviceId}/readings`);
    expect(await canConnect(field('mqtt username')!, field('mqtt password')!)).toBe(true);

    const devices = await json<{ devices: { id: string; connection: { online: boolean } }[] }>(['devices', 'list', '--pilot', pilot.id]);
    expect(devices.devices.map((d) => [d.id, d.connection.online])).toEqual([[deviceId, false]]);
    const table = rows(await ok(['devices', 'list', '--pilot', pilot.id]));
    expect(table[0]).toEqual(['ID', 'NAME', 'PROFILE', 'USERNAME', 'ONLINE', 'LAST SEEN', 'REVOKED']);
    expect(table[1]!.slice(0, 3)).toEqual([deviceId, 'Lamp post 1', 'air-quality']);

    // Rotate: a new password works, the old one does not.
    const rotated = await json<{ id: string; mqtt: { username: string; password: string } }>(['devices', 'rotate', deviceId]);
    expect(rotated.id).toBe(deviceId);
    expect(rotated.mqtt.password).not.toBe(field('mqtt password'));
    expect(await canConnect(rotated.mqtt.username, rotated.mqtt.password)).toBe(true);
    expect(await canConnect(rotated.mqtt.username, field('mqtt password')!)).toBe(false);

    // A company key, which then sees its own company only.
    const key = await json<{ key: string; id: string; role: string; companyId: string }>([
      'keys',
      'create',
      '--role',
      'company',
      '--company',
      companyId,
      '--name',
      'dashboard',
    ]);
    expect(key).toMatchObject({ role: 'company', companyId });
    const seen = await json<{ companies: { id: string }[] }>(['companies', 'list', '--key', key.key]);
    expect(seen.companies.map((c) => c.id)).toEqual([companyId]);
    const keys = rows(await ok(['keys', 'list']));
    expect(keys[0]).toEqual(['ID', 'ROLE', 'NAME', 'COMPANY', 'TESTBEDS', 'READ-ONLY', 'SCOPES', 'EXPIRES', 'REVOKED']);
    expect(keys.find((r) => r[0] === key.id)?.slice(1, 4)).toEqual(['company', 'dashboard', companyId]);

    // Wind down: revoke the device, end the pilot, revoke the key.
    const revoked = rows(await ok(['devices', 'revoke', deviceId]));
    expect(revoked.find((r) => r[0] === 'revoked')?.[1]).toMatch(/^\d{4}-/);
    expect(await canConnect(rotated.mqtt.username, rotated.mqtt.password)).toBe(false);
    const ended = rows(await ok(['pilots', 'end', pilot.id]));
    expect(ended.find((r) => r[0] === 'ended')?.[1]).toMatch(/^\d{4}-/);
    const gone = rows(await ok(['keys', 'revoke', key.id]));
    expect(gone.find((r) => r[0] === 'revoked')?.[1]).toMatch(/^\d{4}-/);
    const refused = await run(['companies', 'list', '--key', key.key], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^testbed companies list: TESTBED_UNAUTHORIZED: /);
  });

  it('prints the API error code and message, and each field problem, and exits 1', async () => {
    const [unknownPilot, badKey, badBody] = await Promise.all([
      run(['pilots', 'end', 'plt_nope'], env),
      run(['keys', 'create', '--role', 'operator'], env),
      run(['pilots', 'create', '--company', 'c', '--testbed', 'helsinki', '--name', 'x', '--ends', 'tomorrow'], env),
    ]);
    expect(unknownPilot.code).toBe(1);
    expect(unknownPilot.stderr).toMatch(/^testbed pilots end: TESTBED_NOT_FOUND: /);
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toMatch(/^testbed keys create: TESTBED_BAD_REQUEST: /);
    expect(badBody.code).toBe(1);
    expect(badBody.stderr).toMatch(/TESTBED_BAD_REQUEST[\s\S]*\n {2}endsAt: /);
  });

  it('says so when the server does not answer', async () => {
    const { code, stderr } = await run(['companies', 'list'], { TESTBED_API_URL: 'http://127.0.0.1:1', TESTBED_API_KEY: ADMIN_TOKEN });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^testbed companies list: TESTBED_API_UNREACHABLE: could not reach http:\/\/127\.0\.0\.1:1/);
  });

  it('takes --url and --key over the environment, and refuses a bad TESTBED_API_URL', async () => {
    const out = await ok(['companies', 'list', '--url', p.apiUrl, '--key', ADMIN_TOKEN, '--json'], {
      TESTBED_API_URL: 'http://127.0.0.1:1',
      TESTBED_API_KEY: 'wrong',
    });
    expect(JSON.parse(out)).toHaveProperty('companies');
    const bad = await run(['companies', 'list'], { TESTBED_API_URL: 'not a url', TESTBED_API_KEY: ADMIN_TOKEN });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/TESTBED_CONFIG_INVALID[\s\S]*TESTBED_API_URL/);
  });
});
