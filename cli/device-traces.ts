import type { Gateway } from '../gateway/index.js';
import type { Health } from '../health/index.js';
import type { Ingest } from '../ingest/index.js';
import type { DeviceTraces } from '../lifecycle/index.js';

/**
 * Where a device leaves traces outside the stores, for erasure: ingest's
 * queue files and per-device memory, the broker's retained desired
 * configuration and the gateway's and health's per-device memory.
 */
export function deviceTraces(ingest: Ingest, gateway: Gateway, health: Health): DeviceTraces {
  return {
    async forget(deviceIds) {
      // First: it waits until everything queued is delivered, so no delivery after it re-creates what health forgets next.
      await ingest.eraseDevices(deviceIds);
      health.forgetDevices(deviceIds);
      for (const deviceId of deviceIds) await gateway.forgetDevice(deviceId);
    },
    async check(pilotId, deviceIds) {
      const checks = [];
      // The raw bytes of every segment file, so an id in any record (reading, rejection, duplicate key) counts.
      for (const needle of [pilotId, ...deviceIds])
        checks.push({ store: 'queue', query: `grep -lF ${needle} queue/*.seg | wc -l`, result: await ingest.queueFilesHolding(needle) });
      for (const deviceId of deviceIds)
        checks.push({ store: 'broker', query: `retained devices/${deviceId}/config/desired`, result: await gateway.retainedMessages(deviceId) });
      return checks;
    },
  };
}
