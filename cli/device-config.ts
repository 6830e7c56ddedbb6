import type { EventBus } from '../core/index.js';
import { configProblems, type ProfileCatalogue } from '../device-profiles/index.js';
import type { ConfigChannel } from '../gateway/index.js';
import type { Registry } from '../registry/index.js';

/**
 * The gateway's configuration store: the registry, with each report checked
 * against the device's profile first (the gateway does not read profiles), and
 * every recorded report published as `device.config.reported`.
 */
export function configChannel(registry: Registry, profiles: ProfileCatalogue, events: EventBus): ConfigChannel {
  return {
    desiredConfigsSince: async (since) => await registry.desiredConfigsSince(since),
    async reportConfig(device, report) {
      const fields = profiles.get(device.profile)?.profile.configuration ?? [];
      const problems = configProblems(fields, report.config);
      if (problems.length > 0) return { code: 'TESTBED_CONFIG_BAD_REPORT', reason: problems.map((p) => p.message).join('; ') };
      const config = await registry.recordReportedConfig(device.deviceId, report.config, report.version ?? null);
      events.publish({
        type: 'device.config.reported',
        at: Date.now(),
        testbedId: device.testbedId,
        companyId: device.companyId,
        pilotId: device.pilotId,
        deviceId: device.deviceId,
        data: {
          version: report.version ?? null,
          inSync: config.inSync,
          profile: device.profile,
          ...(typeof report.config.reportingIntervalSeconds === 'number' ? { reportingIntervalSeconds: report.config.reportingIntervalSeconds } : {}),
        },
      });
      return undefined;
    },
  };
}
