import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { collectFrom, createMetrics } from '../metrics/index.js';
import { TAG_KEYS } from '../store/influx/line-protocol.js';

/*
 * The Grafana dashboards shipped in grafana/: they parse, and every metric or
 * InfluxDB tag they query exists, so a rename here breaks this test rather
 * than a dashboard in the field.
 */

const load = (name: string) =>
  JSON.parse(fs.readFileSync(new URL(`../grafana/${name}`, import.meta.url), 'utf8')) as { panels: { targets: Record<string, string>[] }[] };

describe('Grafana dashboards', () => {
  it('gateway.json queries only metrics the gateway exposes', async () => {
    const m = createMetrics();
    collectFrom(m, {
      connections: () => 0,
      ingestStats: () => ({
        readings: 0,
        rejections: 0,
        rejectionsNotStored: 0,
        duplicates: 0,
        stored: 0,
        refused: 0,
        queue: { depthBytes: 0, maxBytes: 1, full: false, oldestAgeMs: null, failed: null },
        store: { kind: 'embedded', reachable: true, consecutiveFailures: 0, lastError: null },
        disk: { freeBytes: 1 << 30, minFreeBytes: 1 << 20, low: false },
      }),
      devices: () => Promise.resolve([]),
      openAlerts: () => Promise.resolve([]),
    });
    const names = new Set((await m.registry.getMetricsAsJSON()).map((metric) => metric.name));
    const exprs = load('gateway.json').panels.flatMap((p) => p.targets.map((t) => t.expr ?? ''));
    expect(exprs.length).toBeGreaterThan(8);
    const used = exprs.flatMap((e) => e.match(/\b(testbed|process)_[a-z_]+/g) ?? []).map((n) => n.replace(/_(bucket|sum|count)$/, ''));
    for (const name of used) expect(names.has(name), name).toBe(true);
    for (const name of names) if (name.startsWith('testbed_')) expect(used, `${name} has a panel`).toContain(name);
  });

  it('readings.json queries the readings measurement by the tags the InfluxDB store writes, with device names in legends', () => {
    const targets = load('readings.json').panels.flatMap((p) => p.targets);
    expect(targets.length).toBeGreaterThan(0);
    const tags: readonly string[] = TAG_KEYS;
    for (const { query: q = '', alias = '' } of targets) {
      expect(q).toMatch(/FROM "readings"/);
      for (const [, tag] of q.matchAll(/"([a-z_]+)" (?:=|=~)/g)) expect(tags, tag).toContain(tag);
      // A legend names the device; the series are grouped by the id too, so two devices of one name stay apart.
      expect(alias).toBe('$tag_device_name');
      const groupBy = [...(/GROUP BY (.*?)(?: fill\(|$)/.exec(q)?.[1] ?? '').matchAll(/"([a-z_]+)"/g)].map((m) => m[1]);
      expect(groupBy).toEqual(['device', 'device_name']);
      for (const [, tag] of alias.matchAll(/\$tag_([a-z_]+)/g)) expect(groupBy, `the alias's ${tag} is grouped by`).toContain(tag);
    }
  });
});
