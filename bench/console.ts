/**
 * Measures the web console in Debian's Chromium against a gateway holding a
 * device with 100,000 readings and a pilot of 1,000 devices, and prints the
 * figures: the bundle's size; how long the fleet's first screen takes to be
 * interactive; for each chart range, the aggregate window chosen, the points
 * drawn and the time to draw them; and frames while the cursor sweeps the
 * chart. A measurement to read, not a test: it asserts nothing.
 *
 *   npm run bench:console -- [--readings 100000]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { startPipeline } from '../cli/pipeline.js';
import { createLogger, loadConfig } from '../core/index.js';
import { SETUP_CALLER } from '../registry/index.js';

const { values: args } = parseArgs({ options: { readings: { type: 'string', default: '100000' } } });
const READINGS = Number(args.readings);
const STEP_MS = 10_000;
const ADMIN = 'bench-admin-token-0123456789abcdef';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = path.join(root, 'console', 'dist');
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;

for (const file of ['app.js', 'app.css']) {
  const body = fs.readFileSync(path.join(dist, file));
  console.log(`bundle ${file}: ${kb(body.length)} minified, ${kb(gzipSync(body).length)} gzipped`);
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-console-'));
const config = loadConfig({ TESTBED_DATA_DIR: dataDir, TESTBED_MQTT_PORT: '0', TESTBED_HTTP_PORT: '0', TESTBED_ADMIN_TOKEN: ADMIN });
const p = await startPipeline(config, createLogger('silent'));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
try {
  const company = await p.registry.createCompany(SETUP_CALLER.scope, 'Bench');
  const pilot = await p.registry.createPilot(SETUP_CALLER.scope, { companyId: company.id, testbedId: 'helsinki', name: 'Bench pilot' });
  const { device } = await p.registry.createDevice(SETUP_CALLER.scope, pilot.id, { profile: 'weather', name: 'Busy station' });
  const fleet = await p.registry.createPilot(SETUP_CALLER.scope, { companyId: company.id, testbedId: 'espoo', name: 'Fleet' });
  await p.registry.createDevices(
    SETUP_CALLER.scope,
    fleet.id,
    Array.from({ length: 1000 }, (_, i) => ({ profile: 'weather', name: `W ${i}` })),
  );
  const end = Date.now();
  const start = end - READINGS * STEP_MS;
  for (let i = 0; i < READINGS; i += 5000) {
    const batch = Array.from({ length: Math.min(5000, READINGS - i) }, (_, j) => {
      const n = i + j;
      const temperature = 10 + 8 * Math.sin(n / 500) + Math.sin(n / 7);
      return {
        deviceId: device.id,
        pilotId: pilot.id,
        companyId: company.id,
        testbedId: 'helsinki',
        profile: 'weather',
        time: start + n * STEP_MS,
        values: { temperature },
      };
    });
    await p.stores.readings.write(batch);
  }
  console.log(`device ${device.id}: ${READINGS} readings, one every ${STEP_MS / 1000} s, over ${((end - start) / 86_400_000).toFixed(1)} days`);

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${p.apiUrl}/`);
  await page.getByLabel('API key').fill(ADMIN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();

  // The fleet's first screen, as a running gateway serves it (its first answer also compiles the code paths).
  await fetch(`${p.apiUrl}/v1/devices?pilotId=${fleet.id}&limit=1000`, { headers: { authorization: `Bearer ${ADMIN}` } });
  let t = performance.now();
  await (await fetch(`${p.apiUrl}/v1/devices?pilotId=${fleet.id}&limit=1000`, { headers: { authorization: `Bearer ${ADMIN}` } })).arrayBuffer();
  console.log(`fleet API: 1,000 devices with their health answered in ${(performance.now() - t).toFixed(0)} ms`);
  t = performance.now();
  await page.goto(`${p.apiUrl}/#/devices?pilot=${fleet.id}`);
  await page.getByText('1–50 of 1000').waitFor();
  console.log(`fleet of 1,000 devices: first page of 50 rows on screen in ${(performance.now() - t).toFixed(0)} ms`);
  t = performance.now();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByText('51–100 of 1000').waitFor();
  console.log(`fleet: next page in ${(performance.now() - t).toFixed(0)} ms`);

  await page.goto(`${p.apiUrl}/#/devices/${device.id}`);
  const plot = page.locator('.chart-plot');
  const caption = page.locator('.chart figcaption');
  // The caption reports what the chart drew once its answer is in.
  const drawn = page.locator('.chart figcaption', { hasText: 'Mean over' });
  for (const preset of ['30 d', '7 d', '24 h', '6 h', '1 h']) {
    t = performance.now();
    await Promise.all([page.waitForResponse((r) => r.url().includes('/aggregates')), page.getByRole('button', { name: preset, exact: true }).click()]);
    await drawn.waitFor();
    const ms = performance.now() - t;
    console.log(
      `chart ${preset.padStart(5)}: ${(await plot.getAttribute('data-points'))?.padStart(5)} points drawn in ${ms.toFixed(0).padStart(4)} ms (${await caption.textContent()})`,
    );
  }
  // Smoothness: frames painted while the cursor sweeps the chart for about a second (the legend follows it).
  await page.getByRole('button', { name: '30 d', exact: true }).click();
  await drawn.waitFor();
  const box = (await plot.boundingBox())!;
  await page.evaluate('window.__frames = 0; (function count() { window.__frames++; requestAnimationFrame(count); })()');
  t = performance.now();
  for (let i = 0; i <= 60; i++) await page.mouse.move(box.x + (box.width * i) / 60, box.y + box.height / 2);
  const sweep = performance.now() - t;
  const frames = (await page.evaluate('window.__frames')) as number;
  console.log(`cursor sweep: ${frames} frames in ${sweep.toFixed(0)} ms (${((frames * 1000) / sweep).toFixed(0)} frames/s)`);
  await context.close();
} finally {
  await browser.close();
  await p.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
