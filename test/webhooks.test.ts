import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline, type RunningPipeline } from '../cli/pipeline.js';
import { loadConfig } from '../core/config.js';
import { createLogger } from '../core/log.js';
import type { TestbedEvent } from '../core/events.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';
import { eventually } from './helpers/wait.js';
import { provision } from './helpers/pipeline.js';
import { tempDir } from './helpers/tmp.js';
import { webhookReceiver } from './helpers/webhook-receiver.js';

/*
 * Webhooks end to end: the pipeline's own bus carries the events (as the alert
 * and health stages publish them), a real receiver on 127.0.0.1 verifies each
 * signature, goes down and comes back, and the pipeline is restarted on the
 * same data folder with a delivery still owed.
 */

const tmp = tempDir('testbed-webhooks-');
const config = loadConfig({
  TESTBED_DATA_DIR: tmp.dir,
  TESTBED_MQTT_PORT: '0',
  TESTBED_HTTP_PORT: '0',
  TESTBED_ADMIN_TOKEN: 'webhook-test-admin-token-0123',
  TESTBED_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
  TESTBED_WEBHOOK_RETRY_SECONDS: '0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3',
});
const log = createLogger(process.env.TESTBED_TEST_LOG ?? 'silent');
let p: RunningPipeline;
let receiver: Awaited<ReturnType<typeof webhookReceiver>>;
let placed: Awaited<ReturnType<typeof provision>>;
let companyKey = '';
let webhookId = '';

const api = async (key: string, method: string, path: string, body?: object) => {
  const res = await fetch(`${p.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> & { error?: { code: string } } };
};

const alert = (n: number, where = placed.pilot): TestbedEvent => ({
  type: 'alert.opened',
  at: Date.now(),
  testbedId: where.testbedId,
  companyId: where.companyId,
  pilotId: where.id,
  deviceId: placed.devices[0]!.device.id,
  data: { alert: { id: `al_${n}`, condition: 'silent' } },
});

interface Delivery {
  id: string;
  state: string;
  attempts: { attempt: number; statusCode: number | null; error: string | null; durationMs: number; nextAttemptAt: string | null }[];
}
const deliveries = async () => (await api(companyKey, 'GET', `/v1/webhooks/${webhookId}/deliveries`)).json.deliveries as Delivery[];

beforeAll(async () => {
  receiver = await webhookReceiver();
  p = await startPipeline(config, log);
  placed = await provision(p, 'weather');
  companyKey = (await p.registry.createCompanyKey(SETUP, placed.company.id)).key;
});
afterAll(async () => {
  await receiver?.down();
  await p?.stop();
  tmp.remove();
});

describe('webhooks', () => {
  it('answers the secret once, and delivers a signed alert of its pilot only', async () => {
    const created = await api(companyKey, 'POST', '/v1/webhooks', { url: receiver.url, events: ['alert.opened', 'alert.resolved'], pilotId: placed.pilot.id });
    expect(created.status).toBe(201);
    expect(created.json.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    webhookId = created.json.id as string;
    receiver.useSecret(created.json.secret as string);
    const read = await api(companyKey, 'GET', `/v1/webhooks/${webhookId}`);
    expect(read.status).toBe(200);
    expect(read.json.secret).toBeUndefined();
    expect(((await api(companyKey, 'GET', '/v1/webhooks')).json.webhooks as { id: string }[]).map((w) => w.id)).toEqual([webhookId]);

    const other = await provision(p, 'weather');
    p.events.publish(alert(1, other.pilot)); // another company's pilot
    p.events.publish({ ...alert(2), type: 'command.succeeded' }); // not a webhook event
    p.events.publish(alert(3));
    const got = await eventually(() => receiver.received.find((r) => r.body.data.alert && (r.body.data.alert as { id: string }).id === 'al_3'));
    expect(got.verified).toBe(true);
    expect(got.body).toMatchObject({ type: 'alert.opened', data: { pilotId: placed.pilot.id, testbedId: 'helsinki', alert: { id: 'al_3' } } });
    expect(Math.abs(got.timestamp - Date.now() / 1000)).toBeLessThan(30);
    expect(receiver.received).toHaveLength(1);
    const [first] = await eventually(async () => {
      const d = await deliveries();
      return d[0]?.state === 'delivered' ? d : undefined;
    });
    expect(first).toMatchObject({ id: got.id, state: 'delivered', attempts: [{ attempt: 1, statusCode: 204, error: null, nextAttemptAt: null }] });
  });

  it('retries while the receiver is down, with the same webhook-id, and delivers once it is back', async () => {
    await receiver.down();
    p.events.publish(alert(4));
    const failing = await eventually(
      async () => {
        const d = (await deliveries()).find((x) => x.attempts.length >= 2);
        return d;
      },
      10_000,
      'two failed attempts',
    );
    expect(failing.state).toBe('pending');
    expect(failing.attempts[0]).toMatchObject({ attempt: 1, statusCode: null });
    expect(failing.attempts[0]!.error).toMatch(/ECONNREFUSED/);
    expect(failing.attempts[0]!.nextAttemptAt).not.toBeNull();
    await receiver.up();
    const got = await eventually(() => receiver.received.find((r) => r.id === failing.id), 10_000, 'the retried delivery');
    expect(got.verified).toBe(true);
    expect((got.body.data.alert as { id: string }).id).toBe('al_4');
    const done = await eventually(async () => (await deliveries()).find((x) => x.id === failing.id && x.state === 'delivered'));
    expect(done.attempts.at(-1)).toMatchObject({ statusCode: 204, nextAttemptAt: null });
  });

  it('keeps an undelivered message across a restart of the pipeline on the same data folder', async () => {
    await receiver.down();
    p.events.publish(alert(5));
    const owed = await eventually(async () => (await deliveries()).find((x) => x.attempts.length >= 1 && x.state === 'pending'), 10_000, 'a failed attempt');
    await p.stop();
    p = await startPipeline(config, log);
    await receiver.up();
    const got = await eventually(() => receiver.received.find((r) => r.id === owed.id), 10_000, 'the delivery after the restart');
    expect(got.verified).toBe(true);
    expect((got.body.data.alert as { id: string }).id).toBe('al_5');
    expect(receiver.received.filter((r) => (r.body.data.alert as { id: string }).id === 'al_5').every((r) => r.id === owed.id)).toBe(true);
  });

  it('refuses private addresses without the allow-list, at creation and at delivery (DNS rebinding)', async () => {
    for (const url of ['http://10.1.2.3/hook', 'http://169.254.169.254/latest', 'http://[::1]:8080/', 'http://localhost:9/hook', 'ftp://example.org/']) {
      const res = await api(companyKey, 'POST', '/v1/webhooks', { url, events: ['alert.opened'], pilotId: placed.pilot.id });
      expect(res.status, url).toBe(400);
      if (!url.startsWith('ftp')) expect(res.json.error?.code, url).toBe('TESTBED_WEBHOOK_URL_NOT_ALLOWED');
    }
    // As if `localhost` had resolved to a public address when the webhook was made: the delivery checks again.
    const { webhook } = await p.registry.createWebhook(SETUP, {
      url: receiver.url.replace('127.0.0.1', 'localhost'),
      events: ['alert.resolved'],
      pilotId: placed.pilot.id,
    });
    const before = receiver.received.length;
    p.events.publish({ ...alert(6), type: 'alert.resolved' });
    const attempt = await eventually(async () => {
      const d = await p.registry.listWebhookDeliveries(SETUP.scope, webhook.id, 10);
      return d?.[0]?.attempts[0];
    });
    expect(attempt.error).toMatch(/TESTBED_WEBHOOK_URL_NOT_ALLOWED/);
    expect(attempt.statusCode).toBeNull();
    // The company's own webhook (on 127.0.0.1, allowed) got alert.resolved; the rebinding one did not reach the receiver.
    await eventually(() => (receiver.received.length === before + 1 ? true : undefined));
  });

  it('is scoped: an operator of another testbed sees nothing, and may not watch a testbed it does not operate', async () => {
    const operator = (await p.registry.createKey(SETUP, { role: 'operator', companyId: null, testbedIds: ['tampere'], readOnly: false, expiresAt: null }, null))
      .key;
    expect((await api(operator, 'GET', `/v1/webhooks/${webhookId}`)).status).toBe(404);
    expect((await api(operator, 'GET', `/v1/webhooks/${webhookId}/deliveries`)).status).toBe(404);
    expect((await api(operator, 'GET', '/v1/webhooks')).json.webhooks).toEqual([]);
    expect((await api(operator, 'POST', '/v1/webhooks', { url: receiver.url, events: ['device.status'], testbedId: 'helsinki' })).status).toBe(403);
    expect((await api(operator, 'POST', '/v1/webhooks', { url: receiver.url, events: ['device.status'], testbedId: 'tampere' })).status).toBe(201);
    expect((await api(companyKey, 'POST', '/v1/webhooks', { url: receiver.url, events: ['device.status'], testbedId: 'helsinki' })).status).toBe(403);
    expect((await api(operator, 'DELETE', `/v1/webhooks/${webhookId}`)).status).toBe(404);
    expect((await api(companyKey, 'DELETE', `/v1/webhooks/${webhookId}`)).status).toBe(200);
    expect((await api(companyKey, 'GET', `/v1/webhooks/${webhookId}`)).status).toBe(404);
  });
});
