import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole, inspect, launch, open, signIn } from './helpers/browser.js';
import { startTestPipeline, type TestPipeline } from './helpers/pipeline.js';
import { SETUP_CALLER } from '../registry/index.js';

/**
 * A company in the web console, in Debian's Chromium against the whole
 * pipeline: it registers a device, publishes to it with the very
 * `mosquitto_pub` line the console shows, and sees the reading arrive without
 * reloading; it rotates and revokes; it manages its keys; and it never sees
 * another company's pilot anywhere.
 */
const run = promisify(execFile);
let p: TestPipeline;
let browser: Browser;
let companyKey: string;
let pilotId: string;

beforeAll(async () => {
  buildConsole();
  p = await startTestPipeline();
  const acme = await p.registry.createCompany(SETUP_CALLER.scope, 'Acme Air');
  const other = await p.registry.createCompany(SETUP_CALLER.scope, 'Borealis Sensors');
  pilotId = (await p.registry.createPilot(SETUP_CALLER.scope, { companyId: acme.id, testbedId: 'helsinki', name: 'Alpha air trial' })).id;
  const secret = await p.registry.createPilot(SETUP_CALLER.scope, { companyId: other.id, testbedId: 'helsinki', name: 'Beta secret trial' });
  await p.registry.createDevice(SETUP_CALLER.scope, secret.id, {
    profile: 'weather',
    name: 'Beta station',
    location: { type: 'Point', coordinates: [24.9, 60.2] },
  });
  await p.registry.createWebhook(SETUP_CALLER, { url: 'https://93.184.216.34/beta', events: ['alert.opened'], pilotId: secret.id });
  companyKey = (await p.registry.createCompanyKey(SETUP_CALLER, acme.id, 'acme console')).key;
  browser = await launch();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await p?.close();
});

const clipboard = (page: Page) => page.evaluate('navigator.clipboard.readText()') as Promise<string>;

describe('web console for a company', () => {
  it('registers a device, shows its credentials once, and charts what mosquitto_pub sends with the line shown', async () => {
    const { context, page, errors } = await open(browser, `${p.apiUrl}/`);
    await signIn(page, companyKey);
    await page.goto(`${p.apiUrl}/#/pilots/${pilotId}`);
    const form = page.getByRole('region', { name: 'Register a device' });
    await form.getByLabel('Profile').selectOption('air-quality');
    await form.getByLabel('Name').fill('Kallio air 7');
    await form.getByLabel('Latitude').fill('60.1841');
    await form.getByLabel('Longitude').fill('24.9497');
    await form.getByRole('button', { name: 'Register', exact: true }).click();

    const shown = page.getByRole('region', { name: /Credentials of Kallio air 7/ });
    await shown.waitFor();
    expect(await shown.textContent()).toContain('shown only this once');
    const password = (await shown.locator('.password').textContent()) ?? '';
    expect(password.length).toBeGreaterThan(16);
    await shown.getByRole('button', { name: 'Copy password' }).click();
    expect(await clipboard(page)).toBe(password);
    const line = (await shown.locator('pre code').textContent()) ?? '';
    expect(line).toMatch(/^mosquitto_pub -h 127\.0\.0\.1 -p \d+ -u \S+ -P \S+ -q 1 -t devices\/dev_\w+\/readings -m '\{"pm25":\d+(\.\d+)?\}'$/);
    expect(await inspect(page, 'company-credentials')).toEqual([]);
    await shown.getByRole('button', { name: 'I have copied it' }).click();
    // Gone once acknowledged: nothing on the page holds the password any more.
    expect(await page.content()).not.toContain(password);

    // The device's page, open before the reading is sent: the value arrives over the live stream.
    await page.getByRole('link', { name: 'Kallio air 7' }).click();
    await page.getByRole('heading', { name: /Kallio air 7/ }).waitFor();
    await page.getByText('No reading stored yet').waitFor();
    await run('sh', ['-c', line]);
    const value = line.match(/"pm25":([\d.]+)/)![1];
    await page.locator('.values').getByText(`${value} µg/m³`).waitFor({ timeout: 15_000 });
    await expect.poll(async () => Number(await page.locator('.chart-plot').getAttribute('data-points')), { timeout: 15_000 }).toBeGreaterThan(0);
    await page.locator('h1 .badge.ok').waitFor(); // its health follows the reading, without a reload
    await page.getByRole('table', { name: 'Events' }).getByText('connected').first().waitFor({ timeout: 10_000 });
    expect(await inspect(page, 'company-device')).toEqual([]);
    // The shown range as CSV, read with the key (never in a URL) and handed to the browser as a file.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download this range (CSV)' }).click()]);
    const csv = fs
      .readFileSync((await download.path())!, 'utf8')
      .split(/\r?\n/)
      .filter(Boolean);
    expect(csv[0]).toMatch(/^time,.*pm25/);
    expect(csv).toHaveLength(2);

    // Rotate: a new password, shown once; then revoke.
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    const rotated = page.getByRole('region', { name: /Credentials of Kallio air 7/ });
    const next = (await rotated.locator('.password').textContent()) ?? '';
    expect(next).not.toBe(password);
    await run('sh', ['-c', (await rotated.locator('pre code').textContent()) ?? '']);
    await expect(run('sh', ['-c', line])).rejects.toThrow(); // the old password no longer connects
    await rotated.getByRole('button', { name: 'I have copied it' }).click();
    await page.getByRole('button', { name: 'Revoke device' }).click();
    await page.getByRole('button', { name: 'Yes, revoke' }).click();
    await page.locator('h1 .badge.revoked').waitFor();
    expect(await page.getByRole('button', { name: 'Rotate secret' }).count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  }, 90_000);

  it('registers many devices from a CSV file and lists their credentials once', async () => {
    const { context, page } = await open(browser, `${p.apiUrl}/`);
    await signIn(page, companyKey);
    await page.goto(`${p.apiUrl}/#/pilots/${pilotId}`);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'console-csv-')), 'devices.csv');
    fs.writeFileSync(file, 'profile,name,lon,lat\nweather,Roof 1,24.95,60.17\nweather,Roof 2,24.96,60.18\nnoise,Street 1,,\n');
    await page.getByRole('region', { name: 'Register a device' }).waitFor();
    expect(await inspect(page, 'company-pilot')).toEqual([]);
    await page.getByLabel(/Or register many from a CSV file/).setInputFiles(file);
    const csv = page.getByLabel('Credentials (CSV)');
    await csv.waitFor();
    const rows = ((await csv.inputValue()) ?? '').split('\n');
    expect(rows).toHaveLength(4);
    expect(rows[1]).toMatch(/^dev_\w+,Roof 1,mqtt:\/\/127\.0\.0\.1:\d+,\S+,\S{16,},devices\/dev_\w+\/readings$/);
    await page.getByRole('button', { name: 'I have copied them' }).click();
    await page.getByRole('link', { name: 'Roof 2' }).waitFor();
    await context.close();
  });

  it("charts a pilot's devices side by side, following the live stream", async () => {
    const pair = await Promise.all(
      [1, 2].map(async (n) => await p.registry.createDevice(SETUP_CALLER.scope, pilotId, { profile: 'noise', name: `Bridge noise ${n}` })),
    );
    const send = async (laeq: number, time: number) => {
      for (const { device, password } of pair) {
        const client = await mqtt.connectAsync(p.mqttUrl, { username: device.username, password, reconnectPeriod: 0 });
        await client.publishAsync(`devices/${device.id}/readings`, JSON.stringify({ laeq, time: new Date(time).toISOString() }), { qos: 1 });
        await client.endAsync();
      }
    };
    await send(55, Date.now() - 10 * 60_000);
    const { context, page, errors } = await open(browser, `${p.apiUrl}/`);
    await signIn(page, companyKey);
    await page.goto(`${p.apiUrl}/#/pilots/${pilotId}`);
    await page.getByLabel('Devices of profile').selectOption('noise');
    await page.getByRole('group', { name: 'Pilot chart range' }).getByRole('button', { name: '1 h' }).click();
    const plot = page.locator('section[aria-labelledby="pilot-chart-title"] .chart-plot');
    await expect.poll(async () => Number(await plot.getAttribute('data-points')), { timeout: 10_000 }).toBe(2);
    const legend = (await page.locator('section[aria-labelledby="pilot-chart-title"] .u-legend').textContent()) ?? '';
    expect(legend).toContain('Bridge noise 1');
    expect(legend).toContain('Bridge noise 2');
    expect(await inspect(page, 'company-pilot-chart')).toEqual([]);
    // Ten minutes later by the devices' clocks (the hour's windows are seconds long): new points arrive without a reload.
    await send(60, Date.now());
    await expect.poll(async () => Number(await plot.getAttribute('data-points')), { timeout: 15_000 }).toBeGreaterThan(2);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('makes and revokes its own keys, the new key shown once', async () => {
    const { context, page } = await open(browser, `${p.apiUrl}/`);
    await signIn(page, companyKey);
    await page.getByRole('link', { name: 'Keys' }).click();
    await page.getByRole('form', { name: 'Make a key' }).getByLabel('Name').fill('ci uploader');
    await page.getByRole('button', { name: 'Make key' }).click();
    const secret = (await page.locator('.secret .password').textContent()) ?? '';
    expect(secret).toMatch(/^key_/);
    await page.getByRole('button', { name: 'Copy key' }).click();
    expect(await clipboard(page)).toBe(secret);
    expect(await inspect(page, 'company-keys')).toEqual([]);
    await page.getByRole('button', { name: 'I have copied it' }).click();
    const table = page.getByRole('table', { name: 'API keys' });
    await table.getByText('ci uploader').waitFor();
    expect((await fetch(`${p.apiUrl}/v1/me`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200);
    await page.getByRole('button', { name: 'Revoke key ci uploader' }).click();
    await table.getByRole('row', { name: /ci uploader.*revoked/ }).waitFor();
    expect((await fetch(`${p.apiUrl}/v1/me`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(401);
    await context.close();
  });

  it('offers a research key reading only: no registration, rotation, keys, alerts or webhooks', async () => {
    const shared = await p.registry.createPilot(SETUP_CALLER.scope, {
      companyId: (await p.registry.listCompanies(SETUP_CALLER.scope))[0]!.id,
      testbedId: 'espoo',
      name: 'Shared espoo air',
      sharing: 'research',
    });
    const { device } = await p.registry.createDevice(SETUP_CALLER.scope, shared.id, { profile: 'air-quality', name: 'Espoo shared air' });
    const researcher = (
      await p.registry.createKey(SETUP_CALLER, { role: 'researcher', companyId: null, testbedIds: null, readOnly: true, expiresAt: null }, 'study')
    ).key;
    const { context, page, errors } = await open(browser, `${p.apiUrl}/`);
    await signIn(page, researcher);
    expect(await mainNavigation(page)).toBe('OverviewPilotsDevicesOpen data');
    await page.goto(`${p.apiUrl}/#/pilots/${shared.id}`);
    await page.getByRole('link', { name: 'Espoo shared air' }).waitFor();
    expect(await page.getByRole('region', { name: 'Register a device' }).count()).toBe(0);
    await page.goto(`${p.apiUrl}/#/devices/${device.id}`);
    await page.getByText('This key may not read rejections').waitFor();
    expect(await page.getByRole('button', { name: 'Rotate secret' }).count()).toBe(0);
    expect(await inspect(page, 'researcher-device')).toEqual([]);
    await page.goto(`${p.apiUrl}/#/pilots`);
    await page.getByRole('link', { name: 'Shared espoo air' }).waitFor();
    expect(await page.locator('main').textContent()).not.toContain('Alpha air trial');
    expect(errors).toEqual([]);
    await context.close();
  });

  it("never shows another company's pilot, device or webhook on any page", async () => {
    const { context, page, errors } = await open(browser, `${p.apiUrl}/`);
    await signIn(page, companyKey);
    for (const [hash, heading] of [
      ['#/', 'Overview'],
      ['#/pilots', 'Pilots'],
      ['#/devices', 'Devices'],
      ['#/devices?view=map', 'Devices'],
      ['#/alerts', 'Alerts'],
      ['#/webhooks', 'Webhooks'],
      ['#/open', 'Open data'],
    ] as const) {
      await page.goto(`${p.apiUrl}/${hash}`);
      await page.getByRole('heading', { name: heading, exact: true, level: 1 }).waitFor();
      await expect.poll(() => page.locator('[aria-busy="true"]').count(), { message: hash }).toBe(0);
      await page.waitForLoadState('networkidle');
      const text = (await page.locator('body').textContent()) ?? '';
      for (const foreign of ['Beta secret trial', 'Beta station', 'Borealis', '93.184.216.34']) expect(text, `${hash} shows ${foreign}`).not.toContain(foreign);
      expect(await inspect(page, `company-${hash.replace(/\W+/g, '-')}`), hash).toEqual([]);
    }
    // The navigation offers what a company key may do and nothing of an operator's.
    expect(await mainNavigation(page)).toBe('OverviewPilotsDevicesAlertsWebhooksKeysOpen data');
    expect(errors).toEqual([]);
    await context.close();
  }, 90_000);
});

/** The main navigation's links as text, once they are there (they appear together, when the key's access is known). */
async function mainNavigation(page: Page): Promise<string | null> {
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link').first().waitFor();
  return nav.textContent();
}
