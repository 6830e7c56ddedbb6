import mqtt from 'mqtt';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole, launch } from './helpers/browser.js';
import { ADMIN_TOKEN, eventually, startTestPipeline, type TestPipeline } from './helpers/pipeline.js';
import { SETUP_CALLER } from '../registry/index.js';

/**
 * The web console in Debian's Chromium (playwright-core drives it; its own
 * browser download cannot work here), against the whole pipeline: readings
 * really published over MQTT, stored, and read back through the API by the
 * console with the signed-in key.
 */
const MINUTE = 60_000;

let p: TestPipeline;
let browser: Browser;
let companyKey: string;
let alpha: { pilotId: string; deviceId: string; username: string; password: string };
let beta: { pilotId: string };
let fleetPilotId: string;

/** Publishes payloads as the device, with QoS 1. */
async function publish(device: { username: string; password: string; deviceId: string }, payloads: object[]): Promise<void> {
  const { username, password, deviceId } = device;
  const client = await mqtt.connectAsync(p.mqttUrl, { username, password, clientId: `console-test-${deviceId}`, reconnectPeriod: 0 });
  for (const payload of payloads) await client.publishAsync(`devices/${deviceId}/readings`, JSON.stringify(payload), { qos: 1 });
  await client.endAsync();
}

/** `count` air-quality readings a minute apart, ending now. */
function readings(count: number): object[] {
  const now = Date.now();
  return Array.from({ length: count }, (_, n) => {
    const i = count - 1 - n;
    return { pm25: 5 + (i % 7), pm10: 10 + (i % 5), temperature: 20 + i / 10, humidity: 60, time: new Date(now - i * MINUTE).toISOString() };
  });
}

beforeAll(async () => {
  // The console as `npm run build` makes it; the pipeline serves whatever is built when it starts.
  buildConsole();
  p = await startTestPipeline();
  const { registry } = p;
  const acme = await registry.createCompany(SETUP_CALLER.scope, 'Acme Air');
  const other = await registry.createCompany(SETUP_CALLER.scope, 'Borealis Sensors');
  const alphaPilot = await registry.createPilot(SETUP_CALLER.scope, { companyId: acme.id, testbedId: 'helsinki', name: 'Alpha air trial' });
  const betaPilot = await registry.createPilot(SETUP_CALLER.scope, { companyId: other.id, testbedId: 'tampere', name: 'Beta secret trial' });
  const fleet = await registry.createPilot(SETUP_CALLER.scope, { companyId: acme.id, testbedId: 'espoo', name: 'Fleet of a thousand' });
  const made = await registry.createDevice({ kind: 'all' }, alphaPilot.id, { profile: 'air-quality', name: 'Kallio air 1' });
  await registry.createDevice({ kind: 'all' }, betaPilot.id, { profile: 'air-quality', name: 'Hervanta air 1' });
  await registry.createDevices(
    SETUP_CALLER.scope,
    fleet.id,
    Array.from({ length: 1000 }, (_, i) => ({ profile: 'weather', name: `Weather ${String(i).padStart(4, '0')}` })),
  );
  companyKey = (await registry.createCompanyKey(SETUP_CALLER, acme.id, 'console test')).key;
  alpha = { pilotId: alphaPilot.id, deviceId: made.device.id, username: made.device.username, password: made.password };
  beta = { pilotId: betaPilot.id };
  fleetPilotId = fleet.id;

  // An hour of readings, and one payload the gateway refuses (below the physical range).
  await publish(alpha, [...readings(60), { pm25: -5 }]);
  await eventually(async () => {
    const res = await fetch(`${p.apiUrl}/v1/pilots/${alphaPilot.id}/latest`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const body = (await res.json()) as { latest: unknown[] };
    return body.latest.length === 1 ? true : undefined;
  });
  browser = await launch();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await p?.close();
});

/** A fresh browser context (its own sessionStorage) with every request it makes recorded. */
async function open(): Promise<{ context: BrowserContext; page: Page; requests: string[]; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: 'America/New_York' });
  const page = await context.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(e.message));
  // The browser logs each 4xx as an error; those the console expects (a 403 probe, a 404 shown to the user) are not faults of the page.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
  });
  await page.goto(`${p.apiUrl}/`);
  return { context, page, requests, errors };
}

async function signIn(page: Page, key: string): Promise<void> {
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

const sessionKeys = (page: Page) => page.evaluate('Object.keys(sessionStorage)') as Promise<string[]>;

describe('web console', () => {
  it('shows anonymous visitors the sign-in screen, from files that need no key', async () => {
    const res = await fetch(`${p.apiUrl}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    // The API's routes and documents stay where they were.
    expect((await fetch(`${p.apiUrl}/openapi.json`)).status).toBe(200);
    expect((await fetch(`${p.apiUrl}/v1/companies`)).status).toBe(401); // open-data reads answer without a key (test/api-opendata.test.ts)
    expect((await fetch(`${p.apiUrl}/no-such-page`)).status).toBe(404);

    const { context, page } = await open();
    await expect(page.getByRole('heading', { name: 'Sign in' }).isVisible()).resolves.toBe(true);
    await expect(page.getByRole('heading', { name: 'Open data' }).isVisible()).resolves.toBe(true);
    await context.close();
  });

  it('refuses a bad key with the API message and keeps nothing', async () => {
    const { context, page } = await open();
    await page.getByLabel('API key').fill('not-a-real-key-000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('The API key is not valid');
    expect(await alert.textContent()).toContain('TESTBED_UNAUTHORIZED');
    expect(await sessionKeys(page)).toEqual([]);
    await context.close();
  });

  it("shows a company key its own pilots and never another company's", async () => {
    const { context, page, requests, errors } = await open();
    await signIn(page, companyKey);
    await page.getByText('This key sees 2 pilots of 1 company').waitFor();
    await page.getByRole('link', { name: 'Pilots', exact: true }).click();
    await page.getByRole('link', { name: 'Alpha air trial' }).waitFor();
    const table = (await page.getByRole('table', { name: 'Pilots' }).textContent()) ?? '';
    expect(table).toContain('Fleet of a thousand');
    expect(table).not.toContain('Beta secret trial');
    expect(table).not.toContain('Borealis');

    // Asking for the other company's pilot by its address answers as if it did not exist.
    await page.goto(`${p.apiUrl}/#/pilots/${beta.pilotId}`);
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('TESTBED_NOT_FOUND');
    expect(await page.content()).not.toContain('Beta secret trial');

    // The key is never in a URL, and the page loads nothing from anywhere but the gateway.
    expect(requests.length).toBeGreaterThan(3);
    for (const url of requests) {
      expect(new URL(url).origin).toBe(p.apiUrl);
      expect(url).not.toContain(companyKey);
    }
    expect(errors).toEqual([]);
    await context.close();
  });

  it('shows an admin key every pilot, and the pipeline health', async () => {
    const { context, page } = await open();
    await signIn(page, ADMIN_TOKEN);
    await page.getByRole('heading', { name: 'Pipeline health' }).waitFor();
    await page.getByText('Status:').waitFor();
    await page.getByRole('link', { name: 'Pilots', exact: true }).click();
    await page.getByRole('link', { name: 'Beta secret trial' }).waitFor();
    expect(await page.getByRole('link', { name: 'Alpha air trial' }).isVisible()).toBe(true);
    await page.getByRole('link', { name: 'Keys' }).click();
    await page.getByRole('table', { name: 'API keys' }).getByText('console test').waitFor();
    await context.close();
  });

  it('charts a device from its stored readings, as aggregates', async () => {
    const { context, page, requests, errors } = await open();
    await signIn(page, companyKey);
    await page.goto(`${p.apiUrl}/#/pilots/${alpha.pilotId}`);
    await page.getByRole('link', { name: 'Kallio air 1' }).click();
    await page.getByRole('heading', { name: /Kallio air 1/ }).waitFor();
    const plot = page.locator('.chart-plot');
    await expect.poll(async () => Number(await plot.getAttribute('data-points')), { timeout: 10_000 }).toBeGreaterThan(0);
    expect(await plot.locator('canvas').count()).toBe(1);
    expect(await page.locator('.chart figcaption').textContent()).toMatch(/Mean over \d+[smhd] windows/);
    // The latest values carry the profile's units, and times name the testbed's zone whatever the browser's.
    expect(await page.locator('.values').textContent()).toContain('µg/m³');
    expect(await page.locator('main').textContent()).toMatch(/EET|EEST|GMT\+[23]/);
    expect(requests.some((u) => u.includes(`/v1/devices/${alpha.deviceId}/aggregates`) && u.includes('every='))).toBe(true);
    expect(requests.some((u) => u.includes('/readings'))).toBe(false);

    // Zooming to the last half hour asks again with a shorter window.
    const before = requests.filter((u) => u.includes('/aggregates')).length;
    await page.getByRole('button', { name: '1 h' }).click();
    await expect.poll(() => requests.filter((u) => u.includes('/aggregates')).length).toBeGreaterThan(before);
    await expect.poll(async () => Number(await plot.getAttribute('data-points'))).toBeGreaterThan(30);
    await page.screenshot({ path: '/tmp/console-device.png', fullPage: true });

    // The refused payload is listed with its code and reason.
    const rejected = page.getByRole('table', { name: 'Rejected payloads' });
    await rejected.waitFor();
    expect(await rejected.textContent()).toContain('TESTBED_READING_OUT_OF_RANGE');

    // A reading published now appears without reloading, from the live stream.
    await publish(alpha, [{ pm25: 42, pm10: 43 }]);
    await page.locator('.values').getByText('42 µg/m³').waitFor({ timeout: 10_000 });
    expect(errors).toEqual([]);
    await context.close();
  });

  it('shows a pilot of 1,000 devices a page at a time, with search', async () => {
    // How fast the first screen is, is measured by `npm run bench:console`, not timed here.
    const { context, page } = await open();
    await signIn(page, companyKey);
    await page.goto(`${p.apiUrl}/#/pilots/${fleetPilotId}`);
    await page.getByText('1–50 of 1000').waitFor();
    expect(await page.locator('table[aria-label="Devices"] tbody tr').count()).toBe(50);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('51–100 of 1000').waitFor();
    await page.getByPlaceholder('id or name').fill('Weather 0999');
    await page.getByText('1 of 1000').waitFor();
    await context.close();
  });

  it('signs out: the key leaves sessionStorage and the sign-in screen returns', async () => {
    const { context, page } = await open();
    await signIn(page, companyKey);
    expect(await sessionKeys(page)).toHaveLength(1);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await sessionKeys(page)).toEqual([]);
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await context.close();
  });
});
