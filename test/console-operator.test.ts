import http from 'node:http';
import type { AddressInfo } from 'node:net';
import mqtt from 'mqtt';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole, inspect, launch, open, signIn } from './helpers/browser.js';
import { eventually, startTestPipeline, ADMIN_TOKEN, type TestPipeline } from './helpers/pipeline.js';
import { SETUP_CALLER } from '../registry/index.js';

/**
 * An operator and an anonymous visitor in the web console (Debian's Chromium,
 * the whole pipeline): devices by status, the fleet with filters in the URL, a
 * map coloured by status on a plain background (and on tiles only when a tile
 * URL is configured), alert rules and webhooks, keyboard use, and the
 * open-data catalogue without a key.
 */
let p: TestPipeline;
let browser: Browser;
let operatorKey: string;
let openPilot: string;
const located = (i: number) => ({ type: 'Point' as const, coordinates: [24.9 + i * 0.01, 60.16 + i * 0.005] as [number, number] });

async function publish(device: { username: string; password: string; id: string }, payload: object): Promise<void> {
  const client = await mqtt.connectAsync(p.mqttUrl, { username: device.username, password: device.password, reconnectPeriod: 0 });
  await client.publishAsync(`devices/${device.id}/readings`, JSON.stringify(payload), { qos: 1 });
  await client.endAsync();
}

beforeAll(async () => {
  buildConsole();
  p = await startTestPipeline();
  const acme = await p.registry.createCompany(SETUP_CALLER.scope, 'Acme Air');
  const other = await p.registry.createCompany(SETUP_CALLER.scope, 'Borealis Sensors');
  const weather = await p.registry.createPilot(SETUP_CALLER.scope, { companyId: acme.id, testbedId: 'helsinki', name: 'Harbour weather' });
  const opened = await p.registry.createPilot(SETUP_CALLER.scope, {
    companyId: acme.id,
    testbedId: 'helsinki',
    name: 'Open street air',
    sharing: 'open',
    licence: 'CC-BY-4.0',
    attribution: 'Acme Air and the City of Helsinki',
  });
  await p.registry.createPilot(SETUP_CALLER.scope, { companyId: other.id, testbedId: 'tampere', name: 'Tampere private trial' });
  const made = await p.registry.createDevices(
    SETUP_CALLER.scope,
    weather.id,
    Array.from({ length: 6 }, (_, i) => ({ profile: 'weather', name: `Pier ${i + 1}`, location: located(i) })),
  );
  const air = await p.registry.createDevice(SETUP_CALLER.scope, opened.id, { profile: 'air-quality', name: 'Market square air', location: located(9) });
  operatorKey = (
    await p.registry.createKey(
      SETUP_CALLER,
      { role: 'operator', companyId: null, testbedIds: ['helsinki'], readOnly: false, expiresAt: null },
      'helsinki operations',
    )
  ).key;
  openPilot = opened.id;
  for (const { device, password } of made.slice(0, 2)) await publish({ ...device, password }, { temperature: 12.5, humidity: 70 });
  await publish({ ...air.device, password: air.password }, { pm25: 8, pm10: 12 });
  await eventually(async () => {
    const res = await fetch(`${p.apiUrl}/v1/devices?status=ok`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    return ((await res.json()) as { devices: unknown[] }).devices.length === 3 ? true : undefined;
  });
  browser = await launch();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await p?.close();
});

describe('web console for an operator', () => {
  it('shows devices by status per testbed, each count linking to those devices', async () => {
    const { context, page, errors } = await open(browser, `${p.apiUrl}/`);
    await signIn(page, operatorKey);
    const table = page.getByRole('table', { name: 'Devices by status' });
    await table.waitFor();
    expect(await table.textContent()).not.toContain('Tampere');
    await page.getByRole('heading', { name: 'Pipeline health' }).waitFor();
    expect(await inspect(page, 'operator-overview')).toEqual([]);
    await table
      .getByRole('row', { name: /Helsinki/ })
      .getByRole('link', { name: '3' })
      .click();
    await page.waitForURL(/#\/devices\?testbed=helsinki&status=ok$/);
    await page.getByText('3 devices: 3 ok').waitFor();
    expect(errors).toEqual([]);
    await context.close();
  });

  it('filters the fleet from the URL, and keeps the URL in step with the filters', async () => {
    const { context, page } = await open(browser, `${p.apiUrl}/`);
    await signIn(page, operatorKey);
    await page.goto(`${p.apiUrl}/#/devices?status=never&profile=weather`);
    await page.getByText('4 devices: 0 ok, 0 late, 0 silent, 4 never').waitFor();
    const rows = page.locator('table[aria-label="Devices"] tbody tr');
    expect(await rows.count()).toBe(4);
    await page.getByLabel('Status').selectOption('ok');
    await page.waitForURL(/status=ok/);
    expect(page.url()).toContain('profile=weather');
    await page.getByText('2 devices: 2 ok').waitFor();
    await page.getByLabel('Battery low').check();
    await page.waitForURL(/battery=low/);
    await page.getByText('No device matches these filters').waitFor();
    expect(await inspect(page, 'operator-fleet-empty')).toEqual([]);
    await page.getByRole('link', { name: 'Show every device' }).click();
    await page.getByText('7 devices: 3 ok, 0 late, 0 silent, 4 never').waitFor();
    expect(await inspect(page, 'operator-fleet')).toEqual([]);
    await context.close();
  });

  it('maps located devices coloured by status on a plain background, fetching nothing from elsewhere', async () => {
    const { context, page, requests } = await open(browser, `${p.apiUrl}/`);
    await signIn(page, operatorKey);
    await page.goto(`${p.apiUrl}/#/devices?view=map`);
    const map = page.getByRole('group', { name: 'Map of 7 located devices' });
    await map.waitFor();
    expect(await map.locator('circle.ok').count()).toBe(3);
    expect(await map.locator('circle.never').count()).toBe(4);
    expect(await map.locator('image').count()).toBe(0);
    expect(await page.getByText('no map tiles are configured').count()).toBe(1);
    expect(await inspect(page, 'operator-map')).toEqual([]);
    for (const url of requests) expect(new URL(url).origin).toBe(p.apiUrl);
    // Each marker is a link, reachable from the keyboard.
    await map.getByRole('link', { name: 'Pier 1: ok' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /Pier 1/ }).waitFor();
    await context.close();
  });

  it('adds and deletes alert rules and webhooks, the signing secret shown once', async () => {
    const { context, page, errors } = await open(browser, `${p.apiUrl}/`);
    await signIn(page, operatorKey);
    await page.getByRole('link', { name: 'Alerts', exact: true }).click();
    await page.getByText('No open alert').waitFor();
    const rule = page.getByRole('form', { name: 'New alert rule' });
    await rule.getByLabel('Alert when').selectOption('offline');
    await rule.getByLabel(/Threshold/).fill('30');
    await rule.getByRole('button', { name: 'Add rule' }).click();
    const rules = page.getByRole('table', { name: 'Alert rules' });
    await rules.getByText('30 minutes').waitFor();
    expect(await rules.textContent()).toContain('testbed Helsinki');
    expect(await inspect(page, 'operator-alerts')).toEqual([]);
    await rules.getByRole('button', { name: /Delete rule offline/ }).click();
    await page.getByText('No alert rules yet').waitFor();

    await page.getByRole('link', { name: 'Webhooks' }).click();
    const hook = page.getByRole('form', { name: 'New webhook' });
    await hook.getByLabel('URL').fill('https://93.184.216.34/ops');
    await hook.getByRole('button', { name: 'Add webhook' }).click();
    const secret = (await page.locator('.secret .password').textContent()) ?? '';
    expect(secret).toMatch(/^whsec_/);
    expect(await inspect(page, 'operator-webhook-secret')).toEqual([]);
    await page.getByRole('button', { name: 'I have copied it' }).click();
    expect(await page.content()).not.toContain(secret);
    const hooks = page.getByRole('table', { name: 'Webhooks' });
    await hooks.getByText('https://93.184.216.34/ops').waitFor();
    await hooks.getByRole('button', { name: 'Deliveries' }).click();
    await page.getByText('Nothing delivered yet').waitFor();
    expect(await inspect(page, 'operator-webhooks')).toEqual([]);
    await hooks.getByRole('button', { name: 'Delete webhook https://93.184.216.34/ops' }).click();
    await page.getByText('No webhooks yet').waitFor();
    expect(errors).toEqual([]);
    await context.close();
  });

  it('can be used from the keyboard: sign in, move through the navigation, open a page', async () => {
    const { context, page } = await open(browser, `${p.apiUrl}/`);
    await page.keyboard.press('Tab'); // the brand link
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.id')).toBe('api-key');
    await page.keyboard.type(operatorKey);
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.getByRole('link', { name: 'Devices', exact: true }).focus();
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Alerts');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/devices$/);
    await page.getByRole('heading', { name: 'Devices', level: 1 }).waitFor();
    // Every control on the page has a name a screen reader can say.
    expect(await page.locator('select:not([aria-label]):not(label select)').count()).toBe(0);
    await context.close();
  });
});

describe('web console without a key', () => {
  it('shows the open-data catalogue: open pilots only, with licence and attribution, and a chart', async () => {
    const { context, page, requests, errors } = await open(browser, `${p.apiUrl}/`, { width: 390, height: 844 });
    const catalogue = page.getByRole('table', { name: 'Data sets' });
    await catalogue.waitFor();
    const text = (await catalogue.textContent()) ?? '';
    expect(text).toContain('Open street air');
    expect(text).toContain('CC-BY-4.0');
    expect(text).toContain('Acme Air and the City of Helsinki');
    for (const hidden of ['Harbour weather', 'Tampere private trial']) expect(text).not.toContain(hidden);
    expect(await inspect(page, 'anonymous-catalogue-phone')).toEqual([]);
    await page.setViewportSize({ width: 1280, height: 800 });
    await catalogue.getByRole('link', { name: 'Open street air' }).click();
    await page.waitForURL(new RegExp(`#/open/${openPilot}$`));
    await expect.poll(async () => Number(await page.locator('.chart-plot').getAttribute('data-points')), { timeout: 10_000 }).toBeGreaterThan(0);
    expect(await page.getByRole('link', { name: /Download all readings/ }).getAttribute('href')).toBe(`/v1/pilots/${openPilot}/readings?format=csv`);
    expect(await inspect(page, 'anonymous-dataset')).toEqual([]);
    // No request carried a key, and none left the gateway.
    for (const url of requests) expect(new URL(url).origin).toBe(p.apiUrl);
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe('web console map tiles', () => {
  it('draws tiles from the configured tile URL, and only from it', async () => {
    const asked: string[] = [];
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mP8/x8AAwMCAO+ip1sAAAAASUVORK5CYII=', 'base64');
    const tiles = http.createServer((req, res) => {
      asked.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'image/png' }).end(png);
    });
    await new Promise<void>((resolve) => tiles.listen(0, '127.0.0.1', resolve));
    const tileOrigin = `http://127.0.0.1:${(tiles.address() as AddressInfo).port}`;
    const q = await startTestPipeline({ TESTBED_CONSOLE_TILE_URL: `${tileOrigin}/{z}/{x}/{y}.png` });
    try {
      const pilot = await q.registry.createPilot(SETUP_CALLER.scope, {
        companyId: (await q.registry.createCompany(SETUP_CALLER.scope, 'Tiled')).id,
        testbedId: 'espoo',
        name: 'Tiled',
      });
      await q.registry.createDevices(
        SETUP_CALLER.scope,
        pilot.id,
        [0, 1, 2].map((i) => ({ profile: 'weather', location: located(i) })),
      );
      expect((await fetch(`${q.apiUrl}/`)).headers.get('content-security-policy')).toContain(`img-src 'self' data: ${tileOrigin}`);
      const { context, page } = await open(browser, `${q.apiUrl}/`);
      await signIn(page, ADMIN_TOKEN);
      await page.goto(`${q.apiUrl}/#/devices?view=map`);
      await page.getByRole('group', { name: 'Map of 3 located devices' }).waitFor();
      expect(await page.locator('.map image').count()).toBeGreaterThan(0);
      await expect.poll(() => asked.length).toBeGreaterThan(0);
      for (const url of asked) expect(url).toMatch(/^\/\d+\/\d+\/\d+\.png$/);
      await inspect(page, 'admin-map-tiles');
      await context.close();
    } finally {
      await q.close();
      tiles.close();
    }
  }, 60_000);
});
